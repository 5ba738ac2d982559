"""Quantised self-affine profiles and their Whittle spectrum, shared by the estimator tests."""

from __future__ import annotations

import numpy as np

from roughml.physics import synthesis
from roughml.physics.spectral import QUANTISATION_VARIANCE, periodogram


def quantised(rng: np.random.Generator, zetas: np.ndarray, length: int) -> np.ndarray:
    """Heights (float64, one row per ζ) of walls as a clean binary image of ``length`` px holds them."""
    profiles = synthesis.self_affine_profiles(rng, zetas, length, periodic=False)
    widths = synthesis.sample_rms_width(rng, len(zetas), length, (0.03, 0.12))
    heights, _ = synthesis.quantise(profiles, widths, length)
    return heights.astype(np.float64)


def whittle_spectrum(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """log q, scaled periodogram (no Nyquist) and log quantisation floor, as ``whittle`` uses them."""
    q, power = periodogram(h, "endmatch")
    q, power = q[:-1], power[:-1]
    scale = float(np.mean(power))
    return np.log(q), power / scale, float(np.log(QUANTISATION_VARIANCE / scale))
