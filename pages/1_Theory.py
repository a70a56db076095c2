"""Theory: ln p(X) = ELBO + KL, the CAVI update, and reverse against forward KL. The page lives in ui/theory.py."""

from ui import nav, theory

nav.start(__file__)
theory.render()
