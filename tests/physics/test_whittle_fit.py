"""The fast Whittle fit: analytic derivatives and the global optimum against a brute-force search."""

from __future__ import annotations

import numpy as np
import pytest

from roughml.physics.whittle_fit import fit_whittle, whittle_terms
from tests.physics.profiles import quantised, whittle_spectrum


def test_whittle_terms_derivatives_match_finite_differences():
    rng = np.random.default_rng(21)
    log_q, power, _ = whittle_spectrum(quantised(rng, np.array([0.7]), 128)[0])
    theta = np.array([0.6, 0.3, -3.0])
    _, grad, hess, fisher = whittle_terms(theta, log_q, power)
    step = 1e-5
    for i in range(3):
        e = np.zeros(3)
        e[i] = step
        plus = whittle_terms(theta + e, log_q, power)
        minus = whittle_terms(theta - e, log_q, power)
        assert (plus[0] - minus[0]) / (2 * step) == pytest.approx(grad[i], rel=1e-5, abs=1e-6)
        np.testing.assert_allclose((plus[1] - minus[1]) / (2 * step), hess[i], rtol=1e-4, atol=1e-5)
    assert np.all(np.linalg.eigvalsh(fisher) >= -1e-9)  # expected information is never indefinite
    assert whittle_terms(theta, log_q, power, derivatives=False) == whittle_terms(theta, log_q, power)[0]


def _brute_force(log_q, power, log_noise, fit_noise):
    """Independent reference: scipy L-BFGS-B from a dense grid of starts; the best value found."""
    from scipy import optimize

    def nll(theta):
        return whittle_terms(theta, log_q, power, derivatives=False)

    hi_s = max(log_noise, float(np.log(power.max()))) + 1.0 if fit_noise else log_noise
    best = np.inf
    for zeta0 in np.linspace(0.0, 2.0, 21):
        for log_s in (np.linspace(log_noise, hi_s, 4) if fit_noise else [log_noise]):
            log_a = float(np.log(np.mean(power[:8] * np.exp((1 + 2 * zeta0) * log_q[:8]))))
            result = optimize.minimize(nll, [zeta0, log_a, log_s], method="L-BFGS-B",
                                       bounds=[(0.0, 2.0), (None, None), (log_noise, hi_s)])
            best = min(best, float(result.fun))
    return best


@pytest.mark.parametrize("noise_sd, fit_noise", [(0.0, False), (0.0, True), (1.5, True)])
def test_fast_whittle_fit_reaches_the_global_optimum(noise_sd, fit_noise):
    rng = np.random.default_rng(22)
    zetas = np.array([0.15, 0.5, 0.95, 1.3])
    heights = quantised(rng, zetas, 128) + rng.normal(0.0, noise_sd, (zetas.size, 128))
    for h in heights:
        log_q, power, log_noise = whittle_spectrum(h)
        theta, value, _ = fit_whittle(log_q, power, (0.0, 2.0), log_noise, fit_noise)
        assert value <= _brute_force(log_q, power, log_noise, fit_noise) + 1e-6
        assert value == pytest.approx(whittle_terms(theta, log_q, power, derivatives=False))
        assert 0.0 <= theta[0] <= 2.0 and theta[2] >= log_noise - 1e-12
