"""Thermal elastic lines (ζ = 1/2) and lines that cross over between two exponents.

Why: the thermal (Edwards–Wilkinson) line is the equilibrium state of a wall without disorder, and
walls in experiments often show one exponent at small scales and another at large ones
(depinning-like below a length ℓ₀, thermal-like above, for a wall driven above threshold). An
estimator should report what the scales of the image show, and a crossover inside the image is
where a single number is least well defined.

- :func:`thermal_line_profiles`: the solid-on-solid line at temperature T, Boltzmann weight
  exp(−K Σ|h_{i+1} − h_i|), sampled exactly (free ends): independent integer increments with the
  two-sided geometric law P(Δ = k) ∝ e^{−K|k|}. A lattice random walk: ζ = 1/2 at every scale,
  with non-Gaussian integer steps at small ones.
- :func:`crossover_profiles`: Gaussian lines whose structure factor is a broken power law,
  S(q) ∝ q^{−(1+2ζ_small)} above the crossover wave number 2π/ℓ₀ and ∝ q^{−(1+2ζ_large)} below it,
  continuous at ℓ₀; non-periodic windows of a line ``oversample`` times longer.

Every ``exp``/``log`` comes from :mod:`roughml.physics.portable` (same bits on every CPU).
"""

from __future__ import annotations

import numpy as np

from roughml.physics import portable


def thermal_line_profiles(rng: np.random.Generator, n: int, length: int, *,
                          coupling: float = 1.0) -> np.ndarray:
    """``n`` equilibrium solid-on-solid lines of ``length`` sites (int64 heights, start at 0).

    ``coupling`` is K = J/T: each increment is the difference of two independent geometric
    variables with P(G = g) = (1 − e^{−K}) e^{−Kg}, drawn by inversion, G = ⌊−ln U / K⌋.
    K = 1 gives P(Δ = 0) ≈ 0.46 and an rms step ≈ 1.1 sites.
    """
    if n < 0 or length < 2 or coupling <= 0:
        raise ValueError("need n >= 0, length >= 2, coupling > 0")
    uniform = 1.0 - rng.random((2, n, length - 1))          # in (0, 1]: log is finite
    geometric = np.floor(-portable.log(uniform) / float(coupling)).astype(np.int64)
    steps = geometric[0] - geometric[1]
    heights = np.zeros((n, length), dtype=np.int64)
    np.cumsum(steps, axis=1, out=heights[:, 1:])
    return heights


def broken_power_law_amplitudes(n_modes: int, size: int, zeta_small: float, zeta_large: float,
                                crossover_length: float) -> np.ndarray:
    """√S for modes 1 … n_modes of a line of ``size`` points (float64), continuous at ℓ₀."""
    n = np.arange(1, n_modes + 1, dtype=np.float64)
    log_ratio = portable.log(n * (float(crossover_length) / size))   # ln(q ℓ₀ / 2π)
    zeta = np.where(log_ratio > 0.0, zeta_small, zeta_large)
    return portable.exp(-(0.5 + zeta) * log_ratio)


def crossover_profiles(rng: np.random.Generator, n: int, length: int, *, zeta_small: float = 1.25,
                       zeta_large: float = 0.5, crossover_length: float = 32.0,
                       oversample: int = 4) -> np.ndarray:
    """``n`` Gaussian lines with exponent ``zeta_small`` below ℓ₀ and ``zeta_large`` above.

    Returns
    -------
    ndarray
        float64, shape (n, length), mean 0 but *not* rescaled wall by wall (unlike
        :func:`roughml.physics.synthesis.self_affine_profiles`), so that the ensemble structure factor
        is unbiased at low q; :func:`roughml.physics.interfaces.families.wall_columns` rescales.
    """
    if n < 0 or length < 2 or oversample < 1 or crossover_length <= 0:
        raise ValueError("need n >= 0, length >= 2, oversample >= 1, crossover_length > 0")
    size = int(length * oversample)
    n_modes = size // 2
    noise = rng.standard_normal((n, n_modes + 1, 2))
    spectrum = noise.view(np.complex128)[..., 0]
    spectrum[:, 0] = 0.0
    if size % 2 == 0:
        spectrum[:, -1] = np.sqrt(2.0) * noise[:, -1, 0]
    spectrum[:, 1:] *= broken_power_law_amplitudes(n_modes, size, zeta_small, zeta_large,
                                                   crossover_length)
    full = np.fft.irfft(spectrum, n=size, axis=1)
    offsets = rng.integers(0, size - length + 1, size=n)
    window = np.take_along_axis(full, offsets[:, None] + np.arange(length)[None, :], axis=1)
    return window - window.mean(axis=1, keepdims=True)
