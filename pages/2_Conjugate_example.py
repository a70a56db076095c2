"""Worked example: Newcomb's data, the Normal-Gamma model, closed-form CAVI. The page lives in ui/conjugate.py."""

from ui import conjugate, nav

nav.start(__file__)
conjugate.render()
