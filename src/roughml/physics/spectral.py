"""Classical estimators of the roughness exponent ζ of a wall profile h(x).

Why: they are the baseline every learned model must beat, and the fallback ``roughml estimate``
uses when no model is available. The Whittle estimator is asymptotically efficient for Gaussian
profiles, so with the Cramér–Rao bound (:func:`cramer_rao_bound`) it tells how close to the
information limit an estimator gets. The structure-factor fit is the textbook method, kept for
comparison because it is what most experimental papers use.

Self-affine profiles have a structure factor S(q) ∝ q^{-(1+2ζ)}; an image adds pixel
quantisation, which is close to white noise, so the Whittle model is
``S_θ(q) = A q^{-(1+2ζ)} + σ²``. This module turns profiles into periodograms and estimates; the
likelihood and its optimiser live in :mod:`roughml.physics.whittle_fit`.
"""

from __future__ import annotations

import numpy as np

from roughml.physics.whittle_fit import fit_whittle, standard_error

#: Detrending modes accepted by :func:`periodogram`.
DETRENDS = ("endmatch", "mean", "none")
#: Noise-floor models accepted by :func:`whittle`.
NOISE_MODELS = ("quantisation", "free")
#: Variance (px²) of rounding a continuous height to whole pixels: uniform error on [-1/2, 1/2].
QUANTISATION_VARIANCE = 1.0 / 12.0
#: Shortest profile the estimators accept.
MIN_PROFILE_LENGTH = 16


#: Lowest modes (n = 1, 2) of a closed wall's periodic profile that the ellipse reference altered.
PERIODIC_SKIPPED_MODES = 2


def cramer_rao_bound(length: int) -> float:
    """Lower bound on the rms error of an unbiased ζ estimate from ``length`` points.

    For a Gaussian profile with S(q) = A q^{-(1+2ζ)} and A unknown, the Fourier modes
    n = 1 … L/2−1 are independent exponential variables; their Fisher information for ζ is
    4 Σ (ln n − mean ln n)² (the mean is subtracted because A absorbs any constant in log S).
    """
    if length < 6:
        raise ValueError(f"length must be >= 6, got {length}")
    log_n = np.log(np.arange(1, length // 2, dtype=np.float64))
    info = 4.0 * float(np.sum((log_n - log_n.mean()) ** 2))
    return 1.0 / np.sqrt(info)


def detrend_profile(h: np.ndarray, detrend: str = "endmatch") -> np.ndarray:
    """Return ``h`` (float64) with the mean or the line through its end points removed.

    End matching makes h(0) = h(L−1) = 0: a non-periodic profile is otherwise treated by the FFT
    as periodic with a jump at the ends, whose q^{-2} leakage swamps the low-q power law of any
    ζ > 0.5.
    """
    if detrend not in DETRENDS:
        raise ValueError(f"detrend must be one of {DETRENDS}, got {detrend!r}")
    h = np.asarray(h, dtype=np.float64)
    if h.ndim != 1:
        raise ValueError(f"expected a 1-D profile, got shape {h.shape}")
    if detrend == "endmatch":
        x = np.arange(h.size, dtype=np.float64) / max(h.size - 1, 1)
        return h - (h[0] + (h[-1] - h[0]) * x)
    if detrend == "mean":
        return h - h.mean()
    return h.copy()


def periodogram(h: np.ndarray, detrend: str = "endmatch") -> tuple[np.ndarray, np.ndarray]:
    """Periodogram I(q) = |ĥ(q)|²/L of a profile at q = 2πn/L, n = 1 … L/2.

    Returns
    -------
    q, power : ndarray
        float64 arrays of length L//2.
    """
    h = detrend_profile(h, detrend)
    length = h.size
    if length < 6:
        raise ValueError(f"profile too short: {length} points, at least 6 needed")
    spectrum = np.fft.rfft(h)
    n = np.arange(1, length // 2 + 1)
    power = (np.abs(spectrum[n]) ** 2) / length
    q = 2.0 * np.pi * n.astype(np.float64) / length
    return q, power.astype(np.float64)


def _low_q_slope(q: np.ndarray, power: np.ndarray, q_fraction: float) -> float:
    """Least-squares slope of log power against log q over the lowest ``q_fraction`` of the modes."""
    n_use = max(3, int(round(q_fraction * q.size)))
    q, power = q[:n_use], power[:n_use]
    keep = power > 0
    if np.count_nonzero(keep) < 3:
        return float("nan")
    x, y = np.log(q[keep]), np.log(power[keep])
    x = x - x.mean()
    return float(np.dot(x, y - y.mean()) / np.dot(x, x))


def structure_factor_fit(h: np.ndarray, q_fraction: float = 0.25) -> float:
    """ζ from the least-squares slope of log S against log q over the lowest modes.

    Uses modes n = 1 … max(3, q_fraction·L/2) of the end-matched periodogram; the slope is
    −(1+2ζ). High q is left out because pixel quantisation flattens the spectrum there.
    """
    if not 0.0 < q_fraction <= 1.0:
        raise ValueError(f"q_fraction must be in (0, 1], got {q_fraction}")
    q, power = periodogram(h, "endmatch")
    return (-_low_q_slope(q, power, q_fraction) - 1.0) / 2.0


def _whittle_spectrum(h: np.ndarray, n_modes: int | None) -> tuple[np.ndarray, np.ndarray]:
    """End-matched periodogram modes used by Whittle (no Nyquist; optionally only the lowest)."""
    length = h.size
    q, power = periodogram(h, "endmatch")
    last = length // 2 - 1 if n_modes is None else int(np.clip(n_modes, 4, length // 2 - 1))
    return q[:last], power[:last]


def whittle(h: np.ndarray, zeta_bounds: tuple[float, float] = (0.0, 2.0), *,
            noise: str = "quantisation", n_modes: int | None = None) -> tuple[float, float]:
    """Whittle maximum-likelihood ζ of one profile and its standard error.

    Parameters
    ----------
    h : ndarray
        1-D profile (heights in px), not assumed periodic: it is end-matched first.
    zeta_bounds : tuple of float
        Search interval for ζ.
    noise : {"quantisation", "free"}
        The white noise floor σ². ``"quantisation"`` fixes it at the variance of rounding to whole
        pixels, 1/12 px², which is exact for a profile read off a clean binary image: one fewer
        free parameter removes most of the ζ–σ² trade-off that dominates the error of short
        profiles. ``"free"`` fits σ² (never below 1/12 px²), for profiles extracted from noisy
        grayscale images whose extraction errors add to the quantisation.
    n_modes : int, optional
        Use modes n = 1 … n_modes (default L/2 − 1: every mode except Nyquist, whose periodogram
        value is not exponentially distributed).

    Returns
    -------
    zeta, zeta_std : float
        The estimate and its standard error from the observed Fisher information (inverse
        Hessian of the negative log-likelihood in the fitted parameters); the Cramér–Rao bound for
        the length when that Hessian is ill-conditioned (e.g. ζ on a bound).
    """
    if noise not in NOISE_MODELS:
        raise ValueError(f"noise must be one of {NOISE_MODELS}, got {noise!r}")
    h = np.asarray(h, dtype=np.float64)
    if h.ndim != 1:
        raise ValueError(f"expected a 1-D profile, got shape {h.shape}")
    if h.size < MIN_PROFILE_LENGTH:
        raise ValueError(f"profile too short for Whittle: {h.size} points, "
                         f"at least {MIN_PROFILE_LENGTH} needed")
    q, power = _whittle_spectrum(h, n_modes)
    return _whittle_from_spectrum(q, power, h.size, zeta_bounds, noise)


def _whittle_from_spectrum(q: np.ndarray, power: np.ndarray, length: int,
                           zeta_bounds: tuple[float, float], noise: str) -> tuple[float, float]:
    """Whittle (ζ, standard error) from periodogram modes of a profile of ``length`` points.

    The spectrum is divided by its mean first: ζ does not depend on the overall scale, and the
    optimiser in :mod:`roughml.physics.whittle_fit` is then well conditioned for any height unit.
    """
    crb = cramer_rao_bound(length)
    scale = float(np.mean(power))
    if not np.isfinite(scale) or scale <= 0.0:
        return float("nan"), crb  # flat profile: no roughness information at all
    power = power / scale  # conditioning only: ζ does not depend on the overall scale
    log_q = np.log(q)
    log_noise = float(np.log(QUANTISATION_VARIANCE / scale))
    theta, _, hess = fit_whittle(log_q, power, zeta_bounds, log_noise, noise == "free")
    return float(theta[0]), standard_error(log_q, theta, hess, zeta_bounds, crb, noise == "free")


def estimate_profile(h: np.ndarray, noise: str = "quantisation", *,
                     periodic: bool = False) -> tuple[float, float, float]:
    """(Whittle ζ, its standard error, structure-factor ζ) of one profile, from one periodogram.

    ``periodic`` is for a closed wall's displacement u(s) along its arc, measured from a smooth
    reference (centre and ellipse): its periodogram needs no end matching (the mean is removed),
    and the lowest ``PERIODIC_SKIPPED_MODES`` modes are left out of both fits because removing
    the reference shape altered them.
    """
    if noise not in NOISE_MODELS:
        raise ValueError(f"noise must be one of {NOISE_MODELS}, got {noise!r}")
    h = np.asarray(h, dtype=np.float64)
    if h.ndim != 1 or h.size < MIN_PROFILE_LENGTH:
        raise ValueError(f"expected a 1-D profile of at least {MIN_PROFILE_LENGTH} points, got shape {h.shape}")
    q, power = periodogram(h, "mean" if periodic else "endmatch")
    first = PERIODIC_SKIPPED_MODES if periodic else 0
    last = h.size // 2 - 1
    zeta, zeta_std = _whittle_from_spectrum(q[first:last], power[first:last], h.size, (0.0, 2.0), noise)
    return zeta, zeta_std, (-_low_q_slope(q[first:], power[first:], 0.25) - 1.0) / 2.0
