"""Statistical checks of the synthetic interfaces: they must have the roughness they claim."""

from __future__ import annotations

import numpy as np
import pytest

from roughml.physics.synthesis import quantise, sample_rms_width, sample_zeta, self_affine_profiles


def _spectral_slope(profiles: np.ndarray, q_max_fraction: float = 0.25) -> float:
    """Log-log slope of the mean log-periodogram over modes 1 … q_max_fraction*L.

    The mean of log |h_q|² rather than the log of the mean: each profile is rescaled to unit rms,
    which only shifts its log-spectrum by a constant, so the slope stays unbiased.
    """
    length = profiles.shape[1]
    power = np.exp(np.mean(np.log(np.abs(np.fft.rfft(profiles, axis=1)[:, 1:]) ** 2), axis=0))
    power = np.concatenate([[np.nan], power])
    n = np.arange(1, int(q_max_fraction * length) + 1)
    return float(np.polyfit(np.log(n), np.log(power[n]), 1)[0])


@pytest.mark.parametrize("zeta", [0.5, 0.9])
def test_periodic_spectrum_has_slope_minus_one_minus_two_zeta(zeta):
    rng = np.random.default_rng(1)
    profiles = self_affine_profiles(rng, np.full(400, zeta), 256, periodic=True)
    assert _spectral_slope(profiles) == pytest.approx(-(1 + 2 * zeta), abs=0.05)


def test_spectral_slope_distinguishes_nearby_zetas():
    rng = np.random.default_rng(2)
    low = _spectral_slope(self_affine_profiles(rng, np.full(400, 0.4), 256, periodic=True))
    high = _spectral_slope(self_affine_profiles(rng, np.full(400, 0.6), 256, periodic=True))
    assert high < low - 0.25  # expected difference 0.4


def test_nyquist_mode_has_the_power_of_its_neighbours():
    rng = np.random.default_rng(3)
    profiles = self_affine_profiles(rng, np.full(4000, 0.0001), 16, periodic=True)
    power = np.mean(np.abs(np.fft.rfft(profiles, axis=1)) ** 2, axis=0)
    expected = power[7] * (7 / 8) ** (1 + 2 * 0.0001)
    assert power[8] == pytest.approx(expected, rel=0.12)
    assert power[0] == pytest.approx(0.0, abs=1e-18)


def test_structure_function_scales_as_r_to_two_zeta_non_periodic():
    rng = np.random.default_rng(4)
    zeta = 0.5
    profiles = self_affine_profiles(rng, np.full(300, zeta), 256, periodic=False, oversample=4)
    r = np.arange(1, 17)
    b = np.array([np.mean((profiles[:, k:] - profiles[:, :-k]) ** 2) for k in r])
    slope = np.polyfit(np.log(r), np.log(b), 1)[0]
    assert slope == pytest.approx(2 * zeta, abs=0.1)


def test_structure_function_slope_grows_with_zeta():
    rng = np.random.default_rng(5)
    r = np.arange(1, 17)

    def slope(z: float) -> float:
        p = self_affine_profiles(rng, np.full(200, z), 256)
        b = np.array([np.mean((p[:, k:] - p[:, :-k]) ** 2) for k in r])
        return float(np.polyfit(np.log(r), np.log(b), 1)[0])

    assert slope(0.3) < slope(0.5) - 0.2 < slope(0.7) - 0.4


@pytest.mark.parametrize("periodic", [True, False])
def test_profiles_have_zero_mean_unit_rms(periodic):
    rng = np.random.default_rng(6)
    zeta = rng.uniform(0.05, 1.25, 50)
    p = self_affine_profiles(rng, zeta, 128, periodic=periodic)
    assert p.dtype == np.float64 and p.shape == (50, 128)
    np.testing.assert_allclose(p.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(p.std(axis=1), 1.0, rtol=1e-12)


def test_odd_length_and_scalar_zeta():
    rng = np.random.default_rng(7)
    p = self_affine_profiles(rng, 0.7, 101, periodic=True)
    assert p.shape == (1, 101)
    assert p.std() == pytest.approx(1.0)


def test_profiles_with_same_zeta_have_independent_fourier_phases():
    """The 2018 bug: one phase vector per ζ. Phases of two profiles must be uncorrelated."""
    rng = np.random.default_rng(8)
    p = self_affine_profiles(rng, np.full(2, 0.6), 512, periodic=True)
    phases = np.angle(np.fft.rfft(p, axis=1)[:, 1:256])
    coherence = abs(np.mean(np.exp(1j * (phases[0] - phases[1]))))
    assert coherence < 0.2  # shared phases would give 1; independent ~ 1/sqrt(255) ≈ 0.06


def test_non_periodic_profiles_are_not_shared_either():
    rng = np.random.default_rng(9)
    p = self_affine_profiles(rng, np.full(100, 0.8), 128)
    corr = np.corrcoef(p)
    off_diag = corr[~np.eye(100, dtype=bool)]
    assert np.abs(off_diag).max() < 0.999
    assert abs(off_diag.mean()) < 0.05


def test_same_rng_state_reproduces_profiles_and_zeta_per_row_is_used():
    a = self_affine_profiles(np.random.default_rng(10), [0.2, 1.2], 128)
    b = self_affine_profiles(np.random.default_rng(10), [0.2, 1.2], 128)
    np.testing.assert_array_equal(a, b)
    rough = np.mean(np.diff(a[0]) ** 2)
    smooth = np.mean(np.diff(a[1]) ** 2)
    assert rough > 5 * smooth


def test_sample_zeta_uniform_in_range():
    z = sample_zeta(np.random.default_rng(11), 5000, (0.05, 1.25))
    assert z.dtype == np.float64 and z.min() >= 0.05 and z.max() <= 1.25
    counts, _ = np.histogram(z, bins=6, range=(0.05, 1.25))
    assert counts.min() > 0.8 * 5000 / 6


def test_sample_rms_width_log_uniform_fraction():
    w = sample_rms_width(np.random.default_rng(12), 5000, 128, (0.03, 0.12))
    assert w.min() >= 0.03 * 128 and w.max() <= 0.12 * 128
    assert np.median(w) == pytest.approx(128 * 0.06, rel=0.05)  # geometric mean of the range
    per_row = sample_rms_width(np.random.default_rng(12), 2, np.array([100, 1000]), (0.1, 0.1))
    np.testing.assert_allclose(per_row, [10.0, 100.0])


def test_quantise_geometry_and_clipping():
    profiles = np.array([[0.0, 1.0, -1.0, 10.0, -10.0]])
    heights, clipped = quantise(profiles, 2.0, 16)
    assert heights.dtype == np.int16 and clipped.dtype == np.float32
    np.testing.assert_array_equal(heights[0], [8, 10, 6, 15, 1])
    assert clipped[0] == pytest.approx(2 / 5)


def test_quantise_typical_widths_rarely_clip():
    rng = np.random.default_rng(13)
    p = self_affine_profiles(rng, sample_zeta(rng, 500, (0.05, 1.25)), 128)
    _, clipped = quantise(p, sample_rms_width(rng, 500, 128, (0.03, 0.12)), 128)
    assert np.mean(clipped > 0.02) < 0.01
    assert np.all((clipped >= 0) & (clipped <= 1))
