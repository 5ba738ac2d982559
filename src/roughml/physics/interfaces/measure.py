"""Measure the roughness exponent of an *ensemble* of walls, and of one wall in real space.

Why: a simulated family is labelled by the exponent its ensemble actually shows over the scales
an image of its length holds, not by the textbook value: lattice steps, a crossover or a
finite system bend the structure factor, and the image only sees wavelengths from a few pixels to
its own length. Averaging S(q) over many walls before fitting (as practitioners do) removes the
per-wall noise that limits a single estimate; a bootstrap over walls gives the interval.

- :func:`ensemble_exponent` (:func:`exponent_of_power` from periodograms at hand): least-squares
  slope of log ⟨S(q)⟩ against log q (end-matched periodograms,
  :func:`roughml.physics.spectral.periodogram`) over the modes whose wavelength is at least
  ``min_wavelength``; ζ = (−slope − 1)/2.
- :func:`local_exponents`: the same slope octave by octave, to see a crossover as a bend.
- :func:`height_difference_exponent`: ζ of one profile from B(r) = ⟨(h(x+r) − h(x))²⟩ ∝ r^{2ζ}
  over r ≥ 3 px. Real-space estimators saturate near ζ = 1 for super-rough walls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from roughml.physics.spectral import periodogram


@dataclass(frozen=True)
class EnsembleExponent:
    """ζ of an ensemble's mean structure factor, with its bootstrap 95 % interval."""

    zeta: float
    ci_low: float
    ci_high: float
    n_walls: int
    n_modes: int
    min_wavelength: float


def mean_structure_factor(profiles: np.ndarray, detrend: str = "endmatch") -> tuple[np.ndarray, np.ndarray]:
    """Wave numbers q = 2πn/L (n = 1 … L/2) and the periodograms of every wall (shape (N, L/2))."""
    profiles = np.asarray(profiles, dtype=np.float64)
    if profiles.ndim != 2 or profiles.shape[0] < 1:
        raise ValueError(f"expected a 2-D array of walls, got shape {profiles.shape}")
    q = periodogram(profiles[0], detrend)[0]
    power = np.stack([periodogram(h, detrend)[1] for h in profiles])
    return q, power


def _slope_zeta(q: np.ndarray, mean_power: np.ndarray) -> float:
    x, y = np.log(q), np.log(mean_power)
    x = x - x.mean()
    return float((-np.dot(x, y - y.mean()) / np.dot(x, x) - 1.0) / 2.0)


def _modes(length: int, min_wavelength: float, max_wavelength: float | None) -> slice:
    """Slice of periodogram modes (index n−1) with min_wavelength ≤ L/n ≤ max_wavelength."""
    last = int(np.floor(length / float(min_wavelength)))
    last = max(3, min(last, length // 2))
    first = 1 if max_wavelength is None else max(1, int(np.ceil(length / float(max_wavelength))))
    if last - first + 1 < 3:
        raise ValueError("fewer than 3 modes in the fitted range")
    return slice(first - 1, last)


def ensemble_exponent(profiles: np.ndarray, *, min_wavelength: float = 8.0,
                      max_wavelength: float | None = None, rng: np.random.Generator | None = None,
                      resamples: int = 400) -> EnsembleExponent:
    """ζ from the mean structure factor of ``profiles`` (N, L) over wavelengths ≥ ``min_wavelength``.

    The walls are *not* rescaled one by one: dividing a wall's periodogram by its own total power
    (dominated by its lowest modes) lowers the low-q end of the average and flattens the fitted
    exponent (a random walk then reads ζ ≈ 0.44). Pass raw simulated heights, not unit-rms ones.
    The interval is a percentile bootstrap over walls (``rng`` given), else (nan, nan).
    """
    q, power = mean_structure_factor(profiles)
    return exponent_of_power(q, power, np.asarray(profiles).shape[1], min_wavelength=min_wavelength,
                             max_wavelength=max_wavelength, rng=rng, resamples=resamples)


def exponent_of_power(q: np.ndarray, power: np.ndarray, length: int, *, min_wavelength: float = 8.0,
                      max_wavelength: float | None = None, rng: np.random.Generator | None = None,
                      resamples: int = 400, groups: np.ndarray | None = None) -> EnsembleExponent:
    """:func:`ensemble_exponent` from periodograms already computed (:func:`mean_structure_factor`).

    ``groups`` (one id per wall) makes the bootstrap resample whole groups, e.g. the windows cut
    from one simulated line, which are not independent.
    """
    modes = _modes(length, min_wavelength, max_wavelength)
    q, power = q[modes], power[:, modes]
    zeta = _slope_zeta(q, power.mean(axis=0))
    low = high = float("nan")
    if rng is not None and power.shape[0] > 1:
        groups = np.arange(power.shape[0]) if groups is None else np.asarray(groups)
        ids, members = np.unique(groups, return_inverse=True)
        sums = np.zeros((ids.size, q.size))
        np.add.at(sums, members, power)
        counts = np.bincount(members, minlength=ids.size).astype(np.float64)
        picks = rng.integers(0, ids.size, size=(resamples, ids.size))
        boot = [_slope_zeta(q, sums[p].sum(axis=0) / counts[p].sum()) for p in picks]
        low, high = (float(v) for v in np.percentile(boot, [2.5, 97.5]))
    return EnsembleExponent(zeta=zeta, ci_low=low, ci_high=high, n_walls=int(power.shape[0]),
                            n_modes=int(q.size), min_wavelength=float(min_wavelength))


def local_exponents(profiles: np.ndarray) -> list[tuple[float, float, float]]:
    """(shortest, longest wavelength, ζ) of the mean structure factor over each factor-4 band.

    Bands start at the wall's length and go down by octaves: a self-affine ensemble gives the same
    ζ in every band, a crossover a steady drift.
    """
    q, power = mean_structure_factor(profiles)
    power = power.mean(axis=0)
    length = np.asarray(profiles).shape[1]
    n = np.arange(1, q.size + 1)
    bands = []
    first = 1
    while 4 * first - 1 <= q.size:
        sel = (n >= first) & (n < 4 * first)
        bands.append((length / (4 * first - 1), length / first, _slope_zeta(q[sel], power[sel])))
        first *= 2
    return bands


def height_difference(h: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """B(r) = mean over x of (h(x+r) − h(x))² for every lag r in ``lags``."""
    h = np.asarray(h, dtype=np.float64)
    return np.array([np.mean((h[r:] - h[:-r]) ** 2) for r in lags])


def height_difference_exponent(h: np.ndarray, *, r_min: int = 3, r_max: int | None = None) -> float:
    """ζ of one profile from the log-log slope of B(r), r on a geometric grid in [r_min, r_max].

    ``r_max`` defaults to L/4 (beyond it B(r) averages over too few pairs). Returns nan for a flat
    profile or when fewer than 3 distinct lags fit.
    """
    h = np.asarray(h, dtype=np.float64)
    r_max = h.size // 4 if r_max is None else int(r_max)
    if r_max < r_min + 2:
        return float("nan")
    lags = np.unique(np.round(np.geomspace(r_min, r_max, 16)).astype(np.int64))
    b = height_difference(h, lags)
    if lags.size < 3 or np.any(b <= 0):
        return float("nan")
    return float(np.polyfit(np.log(lags), np.log(b), 1)[0] / 2.0)
