"""vi_core.scaling.sgld: SGLD's stationary moments on a Gaussian likelihood against their known (biased) values, and
the step's formula. Seeded, statistical tolerances of several standard errors."""

import math

import numpy as np

from vi_core.scaling.sgld import SGLD_INNER, SgldSetup, sgld, sgld_steps

N, NB, PRIOR_VAR = 200, 10, 100.0  # x_i ~ N(theta, I) in 2D, theta ~ N(0, 100 I); ten blocks of 20 rows


def _gaussian_case():
    x = np.random.default_rng(5).normal([1.0, -2.0], 1.0, size=(N, 2))
    blocks = x.reshape(NB, N // NB, 2).sum(1)  # each block's sum of rows
    total = x.sum(0)
    precision = N + 1.0 / PRIOR_VAR  # the posterior's, on each coordinate
    mean = total / precision
    noise_var = ((NB * blocks - total) ** 2).mean(0)  # Var over a uniform block of NB * (its sum) - the total

    def grad(z, j):  # the minibatch gradient of the log posterior: NB x the block's likelihood term + the prior's
        t1, t2 = z[0]
        return [[NB * blocks[j, 0] - N * t1 - t1 / PRIOR_VAR, NB * blocks[j, 1] - N * t2 - t2 / PRIOR_VAR]]

    return grad, precision, mean, noise_var


def test_the_step_is_preconditioned_langevin():
    chol = np.array([[2.0, 0.0], [0.5, 1.0]])  # M = A A^T
    theta, draws = sgld_steps(
        np.array([0.1, 0.2]), np.array([[0.3, -0.7]]), [0], lambda z, j: [[1.0, -2.0]], chol, 0.04
    )
    m = chol @ chol.T
    want = np.array([0.1, 0.2]) + 0.02 * m @ np.array([1.0, -2.0]) + 0.2 * chol @ np.array([0.3, -0.7])
    np.testing.assert_allclose(theta, want, rtol=1e-12)
    np.testing.assert_allclose(draws, want[None, :], rtol=1e-12)


def test_sgld_stationary_moments_on_a_gaussian_likelihood_are_the_known_biased_ones():
    """With a Gaussian likelihood the drift is linear: theta' - mu = a (theta - mu) + (h m / 2) xi + sqrt(h m) zeta,
    a = 1 - h m P / 2, with M = m I, P the posterior precision, xi the minibatch noise (variance s2 per coordinate,
    independent of theta and across steps: blocks drawn independently). So the stationary mean is the posterior mean
    (no bias in the mean here) and the stationary variance is (h m + (h m / 2)^2 s2) / (1 - a^2): not the posterior's
    1 / P. Both are checked against a long run of the production kernel (vi_core.scaling.sgld.sgld)."""
    grad, precision, mean, noise_var = _gaussian_case()
    h, m = 0.5, 1.0 / precision
    a = 1.0 - h * m * precision / 2.0
    want_var = (h * m + (h * m / 2.0) ** 2 * noise_var) / (1.0 - a * a)
    assert np.all(want_var > 2.0 / precision)  # the known value: more than twice the posterior's variance

    chol = math.sqrt(m) * np.eye(2)
    algo = sgld(lambda rng: (SgldSetup(grad, NB, chol, None), mean), h=h)
    rng = np.random.default_rng(11)
    s = algo.init(rng)
    calls = 120_000 // SGLD_INNER
    chain = np.empty((calls * SGLD_INNER, 2))
    for i in range(calls):
        s, _ = algo.step(rng, s)
        chain[i * SGLD_INNER : (i + 1) * SGLD_INNER] = s.draws
    # AR(1) with a = 0.75: integrated autocorrelation times (1 + a)/(1 - a) = 7 for the mean, (1 + a^2)/(1 - a^2)
    # = 2.8 for the squares: standard errors from the effective sizes
    se_mean = np.sqrt(want_var * 7.0 / chain.shape[0])
    assert np.all(np.abs(chain.mean(0) - mean) < 5 * se_mean)
    rel_se_var = math.sqrt(2.0 * 2.8 / chain.shape[0])
    np.testing.assert_allclose(chain.var(0), want_var, rtol=5 * rel_se_var)
    assert np.all(np.abs(chain.var(0) * precision - 1.0) > 0.5)  # far from the posterior's variance
