"""Entry page: the Playground. The page itself lives in ui/playground.py; pages are listed in ui/nav.py."""

from ui import nav, playground

nav.start(__file__)
playground.render()
