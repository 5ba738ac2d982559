"""Synthetic self-affine interfaces h(x) with a known roughness exponent ζ.

Why: the models learn ζ from examples whose ζ is known exactly. Profiles are drawn by Fourier
filtering, h_q ∝ q^{-(1+2ζ)/2} (g1 + i g2), with fresh Gaussian numbers for every mode of every
profile. Sharing random phases between profiles of one ζ (as the 2018 prototype did) lets a model
recognise the phase pattern instead of measuring roughness, which is what produced its fake 98%
accuracy. Each profile is returned with mean 0 and rms width 1 so that the amplitude is a separate,
randomly drawn nuisance parameter (:func:`sample_rms_width`) and carries no information about ζ.

Every ``exp`` and ``log`` here comes from :mod:`roughml.physics.portable`: NumPy's own pick SIMD
kernels at run time that differ in the last bit between processors (AVX-512 vs AVX2), which made
the stored rms widths, and so the datasets' DVC hashes, depend on the machine.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from roughml.physics import portable


def _spectral_amplitudes(zeta: np.ndarray, n_modes: int) -> np.ndarray:
    """Return q^{-(1+2ζ)/2} for modes n = 1 … n_modes (float64, shape (N, n_modes)).

    The wave number is used in units of the fundamental (q ∝ n); the constant factor is irrelevant
    because every profile is normalised to unit rms afterwards.
    """
    log_n = portable.log(np.arange(1, n_modes + 1, dtype=np.float64))
    exponent = -(0.5 + zeta.astype(np.float64))[:, None]
    return portable.exp(exponent * log_n[None, :])


def _periodic_profiles(rng: np.random.Generator, zeta: np.ndarray, size: int) -> np.ndarray:
    """Draw ``len(zeta)`` periodic profiles of ``size`` points with one batched inverse real FFT.

    Mode 0 (the mean) is zero. For even ``size`` the Nyquist mode of a real signal is itself real:
    it gets a real Gaussian with the same mean power as the complex modes (variance 2 instead of
    1 + 1), because ``irfft`` would silently drop an imaginary part and halve its power.
    """
    n = zeta.shape[0]
    n_modes = size // 2  # modes 1 … size//2 (the last is Nyquist when size is even)
    # Draw straight into the spectrum buffer (column 0 is the q=0 mode) to avoid a copy.
    noise = rng.standard_normal((n, n_modes + 1, 2))
    spectrum = noise.view(np.complex128)[..., 0]  # g1 + i g2, fresh for every mode and profile
    spectrum[:, 0] = 0.0
    if size % 2 == 0:
        spectrum[:, -1] = np.sqrt(2.0) * noise[:, -1, 0]
    spectrum[:, 1:] *= _spectral_amplitudes(zeta, n_modes)
    return np.fft.irfft(spectrum, n=size, axis=1)


def _normalise(profiles: np.ndarray) -> np.ndarray:
    """Subtract each row's mean and divide by its std (ddof=0): rms width exactly 1."""
    profiles = profiles - profiles.mean(axis=1, keepdims=True)
    profiles /= profiles.std(axis=1, keepdims=True)
    return profiles


def self_affine_profiles(rng: np.random.Generator, zeta: ArrayLike, length: int, *,
                         periodic: bool = False, oversample: int = 4) -> np.ndarray:
    """Draw one self-affine profile per entry of ``zeta``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of every random number (modes and crop offsets), so results are reproducible.
    zeta : array_like
        Roughness exponent per profile (may differ row by row); a scalar gives one profile.
    length : int
        Points per returned profile.
    periodic : bool
        If True, return the periodic Fourier-filtered line itself. Real walls are not periodic, so
        by default a line ``oversample`` times longer is drawn and a window at a random offset
        (independent per profile) is cropped: that carries the end mismatch and spectral leakage a
        real image has.
    oversample : int
        Length factor of the generated line for non-periodic profiles (>= 1).

    Returns
    -------
    ndarray
        float64, shape (N, length); every row has mean 0 and std (rms width) exactly 1.
    """
    zeta_arr = np.atleast_1d(np.asarray(zeta, dtype=np.float64))
    if zeta_arr.ndim != 1:
        raise ValueError("zeta must be a scalar or a 1-D array")
    if length < 2:
        raise ValueError(f"length must be >= 2, got {length}")
    if oversample < 1:
        raise ValueError(f"oversample must be >= 1, got {oversample}")
    n = zeta_arr.shape[0]
    if periodic:
        return _normalise(_periodic_profiles(rng, zeta_arr, length))
    size = length * int(oversample)
    full = _periodic_profiles(rng, zeta_arr, size)
    offsets = rng.integers(0, size - length + 1, size=n)
    index = offsets[:, None] + np.arange(length)[None, :]
    return _normalise(np.take_along_axis(full, index, axis=1))


def sample_zeta(rng: np.random.Generator, n: int, zeta_range: tuple[float, float]) -> np.ndarray:
    """Draw ``n`` roughness exponents uniformly in ``zeta_range`` (float64).

    Uniform so that every part of the range is equally represented in training and evaluation.
    """
    low, high = zeta_range
    return rng.uniform(low, high, size=n).astype(np.float64)


def log_uniform(rng: np.random.Generator, low: float, high: float, n: int) -> np.ndarray:
    """``n`` draws log-uniform in [low, high] (float64), with :mod:`portable` exp and log.

    For scale parameters (a width, a contrast, a contrast-to-noise ratio), which span decades:
    each decade is equally likely. Portable functions, because the draws enter stored datasets.
    """
    log_low, log_high = portable.log(np.array([low, high], dtype=np.float64))
    return portable.exp(rng.uniform(log_low, log_high, size=n))


def sample_rms_width(rng: np.random.Generator, n: int, transverse: ArrayLike,
                     width_fraction_range: tuple[float, float]) -> np.ndarray:
    """Draw ``n`` rms wall widths in px, log-uniform as a fraction of the transverse size.

    Log-uniform because the amplitude is a scale parameter: narrow and wide walls should be equally
    common on a log scale, so the model cannot infer ζ from the amplitude.
    """
    fraction = log_uniform(rng, *width_fraction_range, n)
    return (fraction * np.asarray(transverse, dtype=np.float64)).astype(np.float64)


def quantise(profiles: np.ndarray, rms_width_px: ArrayLike,
             transverse: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Turn unit-rms profiles into integer wall columns of an image ``transverse`` px wide.

    The wall column is ``round(transverse/2 + rms * profile)`` clipped into ``[1, transverse-1]``
    so that every row keeps at least one dark and one bright pixel. Clipped rows lose roughness
    information, so their share is returned for the caller to reject heavily clipped samples.

    Returns
    -------
    heights : ndarray
        int16, shape (N, L).
    clipped_fraction : ndarray
        float32, shape (N,): share of rows that had to be clipped.
    """
    profiles = np.asarray(profiles, dtype=np.float64)
    if profiles.ndim == 1:
        profiles = profiles[None, :]
    n = profiles.shape[0]
    rms = np.broadcast_to(np.asarray(rms_width_px, dtype=np.float64), (n,))[:, None]
    width = np.broadcast_to(np.asarray(transverse, dtype=np.int64), (n,))[:, None]
    if np.any(width < 2) or np.any(width > np.iinfo(np.int16).max):
        raise ValueError("transverse must be in [2, 32767]")
    column = np.rint(width / 2.0 + rms * profiles)
    low, high = np.ones_like(width), width - 1
    clipped = (column < low) | (column > high)
    heights = np.clip(column, low, high).astype(np.int16)
    return heights, clipped.mean(axis=1).astype(np.float32)
