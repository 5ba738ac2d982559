"""Cramér–Rao bound, periodogram, Whittle and structure-factor accuracy on known ζ."""

from __future__ import annotations

import numpy as np
import pytest

from roughml.physics import rendering as render

from roughml.physics import synthesis as synth
from roughml.core.errors import NoInterfaceError
from roughml.imaging.classical import estimate_image
from roughml.physics.spectral import cramer_rao_bound, periodogram, structure_factor_fit, whittle


@pytest.mark.parametrize("length, expected", [(128, 0.070), (256, 0.048), (512, 0.033)])
def test_cramer_rao_bound_values(length, expected):
    assert cramer_rao_bound(length) == pytest.approx(expected, abs=1e-3)


def test_periodogram_end_matching_removes_a_line():
    x = np.arange(64, dtype=np.float64)
    q, power = periodogram(3.0 + 0.5 * x, "endmatch")
    assert q.shape == power.shape == (32,)
    assert q[0] == pytest.approx(2 * np.pi / 64) and q[-1] == pytest.approx(np.pi)
    assert np.max(power) < 1e-20
    _, raw = periodogram(3.0 + 0.5 * x, "mean")
    assert raw[0] > 1.0  # without end matching the ramp leaks into every mode


def test_periodogram_parseval_for_periodic_signal():
    rng = np.random.default_rng(0)
    h = rng.standard_normal(128)
    h -= h.mean()
    q, power = periodogram(h, "none")
    total = 2 * power[:-1].sum() + power[-1]  # modes n and L-n, Nyquist once
    assert total == pytest.approx(np.sum(h ** 2), rel=1e-9)


def _quantised(rng, zetas, length):
    profiles = synth.self_affine_profiles(rng, zetas, length, periodic=False)
    widths = synth.sample_rms_width(rng, len(zetas), length, (0.03, 0.12))
    heights, _ = synth.quantise(profiles, widths, length)
    return heights.astype(np.float64)


def test_whittle_accuracy_on_quantised_profiles():
    rng = np.random.default_rng(11)
    zetas = rng.uniform(0.1, 1.0, 40)
    heights = _quantised(rng, zetas, 256)
    results = np.array([whittle(h) for h in heights])
    errors = results[:, 0] - zetas
    rms = float(np.sqrt(np.mean(errors ** 2)))
    assert rms < 0.09, rms                       # goal 0.08 at 256 px, 40 samples -> some slack
    assert abs(errors.mean()) < 0.04
    # Reported standard errors are of the right size (the CRB is 0.048 at this length).
    assert 0.03 < np.median(results[:, 1]) < 0.1


def test_whittle_free_noise_and_structure_factor_track_zeta():
    rng = np.random.default_rng(12)
    low = _quantised(rng, np.full(12, 0.25), 512)
    high = _quantised(rng, np.full(12, 0.85), 512)
    for estimator in (lambda h: whittle(h, noise="free")[0], structure_factor_fit):
        est_low = np.mean([estimator(h) for h in low])
        est_high = np.mean([estimator(h) for h in high])
        assert est_low == pytest.approx(0.25, abs=0.12)
        assert est_high == pytest.approx(0.85, abs=0.12)


def test_whittle_flat_profile_and_bad_input():
    zeta, std = whittle(np.full(64, 5.0))
    assert np.isnan(zeta) and std == pytest.approx(cramer_rao_bound(64))
    with pytest.raises(ValueError):
        whittle(np.zeros(8))
    with pytest.raises(ValueError):
        whittle(np.zeros(64), noise="bogus")


def test_estimate_image_on_binary_image():
    rng = np.random.default_rng(3)
    h = _quantised(rng, np.array([0.6]), 256)[0].astype(np.int16)
    img = render.render_binary(h, 256, "horizontal", "top")
    est = estimate_image(img)
    assert (est.orientation, est.bright_side, est.length) == ("horizontal", "top", 256)
    assert est.zeta == pytest.approx(whittle(h.astype(np.float64))[0])
    assert est.zeta == pytest.approx(0.6, abs=0.25)
    assert np.isfinite(est.zeta_structure_factor) and est.zeta_std > 0


def test_estimate_image_rejects_uniform():
    with pytest.raises(NoInterfaceError):
        estimate_image(np.zeros((64, 64), np.uint8))


# --- the fast Whittle fit: derivatives, global optimum, standard error ---------------------------

from roughml.physics import spectral as est  # noqa: E402  (private helpers checked below)
from roughml.imaging.detection import detect_orientation  # noqa: E402


def _spectrum(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """log q, scaled periodogram (no Nyquist) and log quantisation floor, as ``whittle`` uses them."""
    q, power = periodogram(h, "endmatch")
    q, power = q[:-1], power[:-1]
    scale = float(np.mean(power))
    return np.log(q), power / scale, float(np.log(est.QUANTISATION_VARIANCE / scale))


def test_whittle_terms_derivatives_match_finite_differences():
    rng = np.random.default_rng(21)
    log_q, power, _ = _spectrum(_quantised(rng, np.array([0.7]), 128)[0])
    theta = np.array([0.6, 0.3, -3.0])
    _, grad, hess, fisher = est._whittle_terms(theta, log_q, power)
    step = 1e-5
    for i in range(3):
        e = np.zeros(3)
        e[i] = step
        plus = est._whittle_terms(theta + e, log_q, power)
        minus = est._whittle_terms(theta - e, log_q, power)
        assert (plus[0] - minus[0]) / (2 * step) == pytest.approx(grad[i], rel=1e-5, abs=1e-6)
        np.testing.assert_allclose((plus[1] - minus[1]) / (2 * step), hess[i], rtol=1e-4, atol=1e-5)
    assert np.all(np.linalg.eigvalsh(fisher) >= -1e-9)  # expected information is never indefinite
    assert est._whittle_terms(theta, log_q, power, derivatives=False) == est._whittle_terms(theta, log_q, power)[0]


def _brute_force(log_q, power, log_noise, fit_noise):
    """Independent reference: scipy L-BFGS-B from a dense grid of starts; the best value found."""
    from scipy import optimize

    def nll(theta):
        return est._whittle_terms(theta, log_q, power, derivatives=False)

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
    heights = _quantised(rng, zetas, 128) + rng.normal(0.0, noise_sd, (zetas.size, 128))
    for h in heights:
        log_q, power, log_noise = _spectrum(h)
        theta, value, _ = est._fit_whittle(log_q, power, (0.0, 2.0), log_noise, fit_noise)
        assert value <= _brute_force(log_q, power, log_noise, fit_noise) + 1e-6
        assert value == pytest.approx(est._whittle_terms(theta, log_q, power, derivatives=False))
        assert 0.0 <= theta[0] <= 2.0 and theta[2] >= log_noise - 1e-12


def test_standard_error_matches_curvature_of_the_profile_likelihood():
    rng = np.random.default_rng(23)
    h = _quantised(rng, np.array([0.6]), 256)[0]
    zeta, zeta_std = whittle(h)
    log_q, power, log_noise = _spectrum(h)

    def profile(z):  # NLL minimised over ln A at fixed ζ (σ² fixed at the floor)
        lower, upper = np.array([z, -np.inf, log_noise]), np.array([z, np.inf, log_noise])
        return est._polish(np.array([z, 0.0, log_noise]), lower, upper, log_q, power)[1]

    delta = 0.01
    curvature = (profile(zeta + delta) - 2 * profile(zeta) + profile(zeta - delta)) / delta ** 2
    assert zeta_std == pytest.approx(1.0 / np.sqrt(curvature), rel=0.02)


def test_estimate_profile_is_whittle_plus_structure_factor():
    rng = np.random.default_rng(24)
    h = _quantised(rng, np.array([0.4]), 128)[0]
    for noise in ("quantisation", "free"):
        zeta, zeta_std, zeta_sf = est.estimate_profile(h, noise)
        assert (zeta, zeta_std) == pytest.approx(whittle(h, noise=noise))
        assert zeta_sf == pytest.approx(structure_factor_fit(h))


def test_estimate_image_reuses_a_known_orientation():
    rng = np.random.default_rng(25)
    h = _quantised(rng, np.array([0.8]), 256)[0].astype(np.int16)
    img = render.render_binary(h, 256, "vertical", "left")
    found = detect_orientation(img)
    assert estimate_image(img, orientation=found) == estimate_image(img)
    # The given geometry is used as is: the wrong polarity finds no wall crossing dark to bright.
    from roughml.imaging.detection import Orientation

    with pytest.raises(NoInterfaceError):
        estimate_image(img, orientation=Orientation("vertical", "right"))
