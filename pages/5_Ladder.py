"""The VI ladder: every family of q on one target, exactly scored, beside MCMC. The page lives in ui/ladder.py."""

from ui import ladder, nav

nav.start(__file__)
ladder.render()
