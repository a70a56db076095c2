"""Scaling: VI against MCMC from N = 100 to 1,000,000. The page itself lives in ui/scaling.py."""

from ui import nav, scaling

nav.start(__file__)
scaling.render()
