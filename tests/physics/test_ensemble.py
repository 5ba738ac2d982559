"""Ensemble S(q) and B(r) fits, local slopes, the crossover test and the random-effects combination,
on synthetic walls of known ζ."""

from __future__ import annotations

import numpy as np
import pytest

from roughml.physics import ensemble
from roughml.physics.spectral import periodogram
from roughml.physics.synthesis import quantise, sample_rms_width, self_affine_profiles

WALLS = 30


def walls(rng: np.random.Generator, zeta: float, length: int, n: int = WALLS) -> list[np.ndarray]:
    """``n`` non-periodic self-affine walls of one ζ, with random amplitudes (rms 3–12 px)."""
    profiles = self_affine_profiles(rng, np.full(n, zeta), length)
    return list(profiles * rng.uniform(3.0, 12.0, n)[:, None])


def crossover_walls(rng: np.random.Generator, scale_px: float, length: int = 1024) -> list[np.ndarray]:
    """Walls with ζ = 0.3 below ``scale_px`` and ζ = 1.0 above: two components whose structure
    factors are equal at that scale (the smoother one dominates the large scales)."""
    rough = self_affine_profiles(rng, np.full(WALLS, 0.3), length)
    smooth = self_affine_profiles(rng, np.full(WALLS, 1.0), length)
    q0 = 2 * np.pi / scale_px

    def level(profiles):
        values = []
        for h in profiles:
            q, power = periodogram(h)
            values.append(power[(q > q0 / 1.2) & (q < q0 * 1.2)].mean())
        return np.mean(values)

    return list(rough + np.sqrt(level(rough) / level(smooth)) * smooth)


@pytest.mark.parametrize("zeta", [0.4, 0.7, 0.9])
def test_structure_factor_recovers_zeta(zeta):
    rng = np.random.default_rng(int(zeta * 100))
    fit = ensemble.ensemble_fit(walls(rng, zeta, 512), rng=rng, n_boot=300)
    assert fit.window == (5.0, 128.0)
    assert fit.fit_s.zeta == pytest.approx(zeta, abs=0.04)
    assert fit.ci95_s[0] < fit.fit_s.zeta < fit.ci95_s[1]
    assert fit.ci95_s[1] - fit.ci95_s[0] < 0.15
    assert fit.crossover.scale_px is None


@pytest.mark.parametrize("zeta, tolerance", [(0.4, 0.05), (0.7, 0.07), (0.9, 0.14)])
def test_height_difference_recovers_zeta_below_one(zeta, tolerance):
    """B(r) of detrended walls reads ζ low as ζ → 1 (real-space estimators saturate at 1), hence
    the wider tolerance at 0.9; S(q) has no such limit."""
    rng = np.random.default_rng(int(zeta * 1000))
    curve = ensemble.height_difference_stack(walls(rng, zeta, 1024)).curve()
    fit = ensemble.fit_power_law(curve, (5.0, 64.0))
    assert fit.zeta == pytest.approx(zeta, abs=tolerance)
    assert fit.zeta <= zeta + 0.03


@pytest.mark.parametrize("zeta", [0.4, 0.7])
def test_pixel_quantised_walls_of_a_binary_image(zeta):
    rng = np.random.default_rng(3)
    profiles = self_affine_profiles(rng, np.full(WALLS, zeta), 512)
    heights, _ = quantise(profiles, sample_rms_width(rng, WALLS, 512, (0.03, 0.12)), 512)
    fit = ensemble.ensemble_fit(list(heights.astype(np.float64)), rng=rng, n_boot=200)
    assert fit.fit_s.zeta == pytest.approx(zeta, abs=0.04)
    assert fit.fit_b.zeta == pytest.approx(zeta, abs=0.1)


def test_walls_of_different_lengths_share_one_curve():
    rng = np.random.default_rng(4)
    mixed = walls(rng, 0.6, 256, 15) + walls(rng, 0.6, 1024, 15)
    stack = ensemble.structure_factor_stack(mixed)
    assert stack.n_walls == 30
    fit = ensemble.ensemble_fit(mixed, rng=rng, n_boot=200)
    assert fit.window == (5.0, 64.0)  # a quarter of the shortest wall
    assert fit.fit_s.zeta == pytest.approx(0.6, abs=0.05)


def test_local_slope_is_flat_for_one_regime_and_bends_at_a_crossover():
    rng = np.random.default_rng(5)
    scale, local = ensemble.local_slope(ensemble.structure_factor_stack(walls(rng, 0.7, 1024)).curve())
    inside = (scale > 5) & (scale < 128)  # the largest scales hold a few modes per wall: noisy
    assert np.all(np.abs(local[inside] - 0.7) < 0.1)
    scale, local = ensemble.local_slope(ensemble.structure_factor_stack(crossover_walls(rng, 32.0)).curve())
    assert local[np.argmin(np.abs(scale - 8))] < 0.55 < 0.8 < local[np.argmin(np.abs(scale - 200))]


def test_crossover_found_near_the_built_in_scale():
    rng = np.random.default_rng(6)
    found = ensemble.ensemble_fit(crossover_walls(rng, 32.0), window=(5.0, 256.0), rng=rng, n_boot=50).crossover
    assert found.scale_px is not None and 16.0 < found.scale_px < 64.0  # within a factor 2
    assert found.zeta_small < found.zeta_large - 0.2
    assert found.delta_bic >= ensemble.CROSSOVER_MIN_DELTA_BIC


@pytest.mark.parametrize("zeta", [0.3, 0.7, 1.1])
def test_no_crossover_in_a_single_regime(zeta):
    rng = np.random.default_rng(7)
    for _ in range(5):
        curve = ensemble.structure_factor_stack(walls(rng, zeta, 1024)).curve()
        assert ensemble.detect_crossover(curve, (5.0, 256.0)).scale_px is None


def _per_wall(rng, n, zeta, tau):
    sigma = rng.uniform(0.05, 0.12, n)
    return zeta + rng.normal(0.0, tau, n) + rng.normal(0.0, sigma), sigma


def test_random_effects_finds_no_spread_between_homogeneous_walls():
    rng = np.random.default_rng(8)
    taus, i2 = [], []
    for _ in range(200):
        combined = ensemble.combine_walls(*_per_wall(rng, WALLS, 0.6, 0.0), rng=rng, n_boot=10)
        taus.append(combined.tau2)
        i2.append(combined.i2)
    assert np.mean(taus) < 0.002 and np.median(np.sqrt(taus)) < 0.02
    assert np.median(i2) < 0.05


def test_random_effects_recovers_the_injected_spread():
    rng = np.random.default_rng(9)
    taus = [ensemble.combine_walls(*_per_wall(rng, 60, 0.6, 0.1), rng=rng, n_boot=10).tau for _ in range(200)]
    assert np.mean(taus) == pytest.approx(0.1, abs=0.015)


@pytest.mark.parametrize("tau", [0.0, 0.1])
def test_combined_interval_covers_the_truth_in_most_samples(tau):
    rng = np.random.default_rng(10)
    hits, widths = 0, []
    for _ in range(300):
        combined = ensemble.combine_walls(*_per_wall(rng, WALLS, 0.6, tau), rng=rng, n_boot=400)
        hits += combined.ci95[0] <= 0.6 <= combined.ci95[1]
        widths.append(combined.ci95[1] - combined.ci95[0])
    assert 0.88 <= hits / 300 <= 0.99
    assert np.mean(widths) < 0.1


def test_random_effects_weights_precise_walls_more():
    combined = ensemble.combine_walls([0.5, 0.6], [0.01, 0.2], rng=np.random.default_rng(0), n_boot=50)
    assert combined.tau2 == 0.0 and combined.zeta == pytest.approx(0.50025, abs=1e-4)
    assert combined.k == 2 and combined.zeta_fixed == pytest.approx(combined.zeta)


def test_classical_interval_covers_the_truth_in_most_samples():
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(40):
        fit = ensemble.ensemble_fit(walls(rng, 0.6, 256), rng=rng, n_boot=300)
        hits += fit.ci95_s[0] <= 0.6 <= fit.ci95_s[1]
    assert hits >= 32


def test_one_wall_and_bad_input():
    rng = np.random.default_rng(12)
    fit = ensemble.ensemble_fit(walls(rng, 0.5, 256, 1), rng=rng)
    assert np.isfinite(fit.fit_s.zeta) and np.isnan(fit.ci95_s[0])
    single = ensemble.combine_walls([0.5], [0.1])
    assert single.ci95 == pytest.approx((0.5 - 0.196, 0.5 + 0.196))
    with pytest.raises(ValueError):
        ensemble.ensemble_fit([np.zeros(8)])
    with pytest.raises(ValueError):
        ensemble.combine_walls([0.5, np.nan], [0.1, 0.1])
    with pytest.raises(ValueError):
        ensemble.fit_window([64], min_scale_px=20.0)


def test_systematic_error_widens_the_interval_to_the_other_estimate():
    from roughml.physics.ensemble import with_systematic

    systematic, (low, high) = with_systematic(0.5, (0.46, 0.56), [0.7])
    assert systematic == pytest.approx(0.2)
    assert low == pytest.approx(0.5 - np.hypot(0.04, 0.2)) and high == pytest.approx(0.5 + np.hypot(0.06, 0.2))
    assert with_systematic(0.5, (0.46, 0.56), [None, float("nan")]) == (0.0, (0.46, 0.56))
    agree = with_systematic(0.5, (0.46, 0.56), [0.5])[1]
    assert agree == pytest.approx((0.46, 0.56))  # estimators that agree add nothing
