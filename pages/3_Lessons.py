"""Lessons: one-click Playground scenarios. The page itself lives in ui/lessons.py."""

from ui import lessons, nav

nav.start(__file__)
lessons.render()
