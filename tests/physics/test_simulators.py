"""The physical interface simulators show the exponents theory gives them, over the scales an image
of their length holds, and are reproducible from their generator.

Each exponent is the slope of the *ensemble* structure factor (end-matched periodograms averaged
over the walls, wavelengths 8 px … L), as :mod:`roughml.physics.interfaces.measure` fits it; the
tolerances are the issue's, several times the ensemble's bootstrap interval at these sizes (seed
to seed spread measured: DPRM ±0.01, thermal ±0.01, long range ±0.01, short range ±0.02). Sizes
are kept small so every test runs in a few seconds on one core; the short-range line at 256 px
(ζ = 1.25 ± 0.04 over 32 walls, ~35 s) is in ``benchmarks/bench_generalization.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from roughml.physics.interfaces import depinning, families, lines, measure, polymer


def _zeta(profiles: np.ndarray, min_wavelength: float = 8.0) -> float:
    return measure.ensemble_exponent(profiles, min_wavelength=min_wavelength).zeta


# --- directed polymer -------------------------------------------------------------------------

def test_directed_polymer_is_a_lattice_path_of_the_requested_length():
    h = polymer.directed_polymer_profiles(np.random.default_rng(0), 5, 100)
    assert h.shape == (5, 100) and h.dtype == np.int64
    assert set(np.unique(np.diff(h, axis=1))) <= {-1, 0, 1}


def test_directed_polymer_roughness_is_two_thirds_above_a_few_lattice_units():
    h = polymer.directed_polymer_profiles(np.random.default_rng(1), 300, 256)
    assert _zeta(h) == pytest.approx(2.0 / 3.0, abs=0.05)
    # Below a few lattice units the step constraint makes it a random walk or smoother.
    assert measure.local_exponents(h)[-1][2] < 0.5


def test_directed_polymer_box_is_wider_than_any_excursion():
    total = 512
    half = polymer.box_half_width(total)
    h = polymer.directed_polymer_profiles(np.random.default_rng(2), 64, total // 2)
    assert np.abs(h).max() < half / 2


# --- thermal line and crossover ---------------------------------------------------------------

def test_thermal_line_steps_follow_the_boltzmann_weight():
    h = lines.thermal_line_profiles(np.random.default_rng(3), 200, 500, coupling=1.0)
    steps = np.diff(h, axis=1).ravel()
    a = np.exp(-1.0)
    assert np.mean(steps == 0) == pytest.approx((1 - a) / (1 + a), abs=0.01)
    assert np.mean(steps) == pytest.approx(0.0, abs=0.01)


def test_thermal_line_roughness_is_one_half():
    h = lines.thermal_line_profiles(np.random.default_rng(4), 400, 256)
    assert _zeta(h) == pytest.approx(0.5, abs=0.05)


def test_crossover_shows_each_exponent_on_its_side_of_the_crossover_length():
    h = lines.crossover_profiles(np.random.default_rng(5), 1000, 512, zeta_small=1.25,
                                 zeta_large=0.5, crossover_length=64.0)
    bands = measure.local_exponents(h)            # (shortest, longest wavelength, ζ), large first
    small = [z for lo, hi, z in bands if hi <= 32]
    large = [z for lo, hi, z in bands if lo >= 128]
    assert np.mean(small) == pytest.approx(1.25, abs=0.06)
    assert np.mean(large) == pytest.approx(0.5, abs=0.1)
    assert 0.5 < _zeta(h) < 1.25


def test_broken_power_law_is_continuous_at_the_crossover():
    amp = lines.broken_power_law_amplitudes(256, 512, 1.25, 0.5, 32.0)   # ℓ₀ = 32: mode 16
    assert amp[15] == pytest.approx(1.0)
    assert amp[14] / amp[15] == pytest.approx((15 / 16) ** -1.0, rel=1e-9)
    assert amp[16] / amp[15] == pytest.approx((17 / 16) ** -1.75, rel=1e-9)


# --- depinning --------------------------------------------------------------------------------

def test_short_range_depinning_is_super_rough():
    h = depinning.depinning_profiles(np.random.default_rng(0), 256, 64, elasticity="short",
                                     samples_per_line=2, windows_per_sample=2)
    assert h.shape == (256, 64) and h.dtype == np.int64
    assert _zeta(h) == pytest.approx(1.25, abs=0.1)


def test_long_range_depinning_roughness():
    h = families.simulate("depinning_lr", np.random.default_rng(1), 100, 128)
    assert _zeta(h) == pytest.approx(0.39, abs=0.06)


def test_long_range_force_is_exact_integer_arithmetic():
    """The fixed-point force kept up to date by FFTs equals the direct integer convolution."""
    rng = np.random.default_rng(6)
    system = 64
    elastic = depinning._Elasticity("long", system, 0.1)
    line = depinning._new_lines(rng, 3, system)
    for _ in range(50):
        mask = rng.random((3, system)) < 0.3
        line.h += mask
        elastic.moved(line, mask)
    kernel, _ = depinning._long_range_kernel(system)
    direct = np.array([[int(np.dot(np.roll(kernel[::-1], i + 1), row)) for i in range(system)]
                       for row in line.h])
    np.testing.assert_array_equal(line.conv, direct)


def test_depinning_is_reproducible_and_windows_are_cut_from_the_chain():
    a = depinning.depinning_profiles(np.random.default_rng(7), 6, 32, elasticity="long",
                                     windows_per_sample=2)
    b = depinning.depinning_profiles(np.random.default_rng(7), 6, 32, elasticity="long",
                                     windows_per_sample=2)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError):
        depinning.depinning_profiles(np.random.default_rng(0), 2, 32, system=40, windows_per_sample=2)
    with pytest.raises(ValueError):
        depinning.depinning_profiles(np.random.default_rng(0), 2, 32, elasticity="medium")


# --- family table, measurement and image columns ----------------------------------------------

@pytest.mark.parametrize("name", sorted(families.FAMILIES))
def test_every_family_is_reproducible_from_its_generator(name):
    length = 32 if name.startswith("depinning") else 64
    a = families.simulate(name, np.random.default_rng(8), 3, length)
    b = families.simulate(name, np.random.default_rng(8), 3, length)
    assert a.shape == (3, length)
    np.testing.assert_array_equal(a, b)


def test_unknown_family_is_refused():
    with pytest.raises(ValueError, match="unknown family"):
        families.simulate("kpz", np.random.default_rng(0), 1, 64)


@pytest.mark.parametrize("zeta", [0.39, 0.67])
def test_ensemble_exponent_is_unbiased_on_gaussian_lines(zeta):
    rng = np.random.default_rng(9)
    h = lines.crossover_profiles(rng, 600, 256, zeta_small=zeta, zeta_large=zeta)
    fit = measure.ensemble_exponent(h, rng=rng, resamples=200)
    assert fit.zeta == pytest.approx(zeta, abs=0.02)
    assert fit.ci_low < fit.zeta < fit.ci_high and fit.n_modes == 32 and fit.n_walls == 600


def test_ensemble_exponent_needs_three_modes():
    with pytest.raises(ValueError, match="3 modes"):
        measure.ensemble_exponent(np.random.default_rng(0).normal(size=(2, 64)), min_wavelength=8,
                                  max_wavelength=10)


def test_height_difference_exponent_of_a_random_walk():
    h = lines.thermal_line_profiles(np.random.default_rng(10), 200, 256)
    per_wall = [measure.height_difference_exponent(row) for row in h]
    assert np.mean(per_wall) == pytest.approx(0.5, abs=0.05)
    assert np.isnan(measure.height_difference_exponent(np.zeros(64)))


def test_wall_columns_quantise_like_synthetic_walls():
    rng = np.random.default_rng(11)
    profiles = families.simulate("dprm", rng, 50, 128)
    heights, rms, clipped = families.wall_columns(rng, profiles, 128)
    assert heights.dtype == np.int16 and heights.shape == (50, 128)
    assert np.all((rms >= 0.03 * 128) & (rms <= 0.12 * 128))
    assert np.all(np.abs(heights.mean(axis=1) - 64) < 1.0)
    assert np.allclose(heights.std(axis=1), rms, rtol=0.1, atol=0.5)
    assert clipped.max() < 0.05


def test_family_label_uses_the_family_fit_range():
    rng = np.random.default_rng(12)
    h = families.simulate("thermal", rng, 200, 128)
    fit = families.label("thermal", h, rng)
    assert fit.min_wavelength == families.FAMILIES["thermal"].min_wavelength
    assert fit.ci_low < 0.5 < fit.ci_high or abs(fit.zeta - 0.5) < 0.05
