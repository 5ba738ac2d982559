"""The simulated families by name, their known exponents, and their heights as image columns.

Why one table: the tests, the generalization benchmark and (later) dataset generation must agree
on what each family is, which exponent theory gives it, and which scales its label is fitted over.
Plain functions of (generator, number of walls, length) and numbers, no configuration objects.

Turning heights into walls of an image follows :func:`roughml.physics.synthesis.quantise`: the
profile's mean is removed, it is scaled to an rms width drawn by
:func:`roughml.physics.synthesis.sample_rms_width` and rounded to whole pixels, so the result is
rendered by :mod:`roughml.physics.rendering` like any synthetic wall.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike

from roughml.physics.interfaces.depinning import depinning_profiles
from roughml.physics.interfaces.lines import crossover_profiles, thermal_line_profiles
from roughml.physics.interfaces.measure import EnsembleExponent, ensemble_exponent
from roughml.physics.interfaces.polymer import directed_polymer_profiles
from roughml.physics.synthesis import quantise, sample_rms_width

Simulator = Callable[[np.random.Generator, int, int], np.ndarray]


@dataclass(frozen=True)
class Family:
    """A simulated interface family.

    ``known_zeta`` is the theoretical exponent (None for a crossover, whose exponent depends on the
    window of scales); ``min_wavelength`` is the shortest wavelength (px) its ensemble exponent is
    fitted over; ``coarse`` is the number of lattice sites averaged into one pixel row (a microscope
    pixel is much larger than the disorder's correlation length; 1 keeps the lattice steps).
    """

    name: str
    simulate: Simulator
    known_zeta: float | None
    min_wavelength: float
    description: str
    coarse: int = 1


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("dprm", directed_polymer_profiles, 2.0 / 3.0, 8.0,
           "directed polymer ground state, steps −1/0/+1, Gaussian site energies, 1 site per px"),
    Family("thermal", thermal_line_profiles, 0.5, 8.0,
           "solid-on-solid thermal line, K = J/T = 1 (lattice random walk), 1 site per px"),
    Family("depinning_sr", partial(depinning_profiles, elasticity="short"), 1.25, 8.0,
           "quenched EW automaton at threshold, c = 0.3, periodic chain 4L, 1 site per px"),
    Family("depinning_lr", partial(depinning_profiles, elasticity="long"), 0.39, 8.0,
           "1/r² elastic line at threshold, c = 0.05, periodic chain 4L, 2 sites per px", coarse=2),
    Family("crossover", crossover_profiles, None, 8.0,
           "Gaussian broken power law, ζ = 1.25 below ℓ₀ = 32 px and 0.5 above"),
)}


def coarse_grain(profiles: ArrayLike, factor: int) -> np.ndarray:
    """Average every ``factor`` consecutive sites into one point (float64, (N, L // factor))."""
    profiles = np.asarray(profiles)
    if factor == 1:
        return profiles
    n, sites = profiles.shape
    length = sites // factor
    return profiles[:, :length * factor].reshape(n, length, factor).mean(axis=2)


def simulate(name: str, rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """Heights (N, length) in px rows of ``n`` walls of family ``name`` (any offset).

    int64 lattice heights when the family has one site per pixel row, float64 averages otherwise.
    """
    try:
        family = FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown family {name!r}; known: {sorted(FAMILIES)}") from None
    return coarse_grain(family.simulate(rng, n, length * family.coarse), family.coarse)


def label(name: str, profiles: ArrayLike, rng: np.random.Generator | None = None) -> EnsembleExponent:
    """The exponent family ``name``'s walls show over wavelengths ``min_wavelength`` … L.

    ``profiles`` are raw heights as :func:`simulate` returns them (not rescaled wall by wall); with
    ``rng`` the result carries a bootstrap 95 % interval over walls.
    """
    return ensemble_exponent(np.asarray(profiles, dtype=np.float64),
                             min_wavelength=FAMILIES[name].min_wavelength, rng=rng)


def unit_rms(profiles: ArrayLike) -> np.ndarray:
    """Rows with mean 0 and rms 1 (float64); a flat row stays 0."""
    profiles = np.asarray(profiles, dtype=np.float64)
    centred = profiles - profiles.mean(axis=1, keepdims=True)
    rms = centred.std(axis=1, keepdims=True)
    return np.divide(centred, rms, out=np.zeros_like(centred), where=rms > 0)


def wall_columns(rng: np.random.Generator, profiles: ArrayLike, transverse: ArrayLike,
                 width_fraction_range: tuple[float, float] = (0.03, 0.12)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer wall columns of simulated ``profiles`` in images ``transverse`` px wide.

    Returns
    -------
    heights : ndarray
        int16 (N, L), as :func:`roughml.physics.synthesis.quantise` returns them.
    rms_width_px : ndarray
        float64 (N,), the drawn rms widths.
    clipped_fraction : ndarray
        float32 (N,), share of rows clipped at the image edge.
    """
    unit = unit_rms(profiles)
    rms = sample_rms_width(rng, unit.shape[0], transverse, width_fraction_range)
    heights, clipped = quantise(unit, rms, transverse)
    return heights, rms, clipped
