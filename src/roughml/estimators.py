"""Classical estimators of the roughness exponent ζ of a wall profile h(x).

Why: they are the baseline every learned model must beat, and the fallback ``roughml estimate``
uses when no model is available. The Whittle estimator is asymptotically efficient for Gaussian
profiles, so with the Cramér–Rao bound (:func:`cramer_rao_bound`) it tells how close to the
information limit an estimator gets. The structure-factor fit is the textbook method, kept for
comparison because it is what most experimental papers use.

Self-affine profiles have a structure factor S(q) ∝ q^{-(1+2ζ)}; an image adds pixel
quantisation, which is close to white noise, so the Whittle model is
``S_θ(q) = A q^{-(1+2ζ)} + σ²``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

#: Detrending modes accepted by :func:`periodogram`.
DETRENDS = ("endmatch", "mean", "none")
#: Noise-floor models accepted by :func:`whittle`.
NOISE_MODELS = ("quantisation", "free")
#: Variance (px²) of rounding a continuous height to whole pixels: uniform error on [-1/2, 1/2].
QUANTISATION_VARIANCE = 1.0 / 12.0
#: Shortest profile the estimators accept.
MIN_PROFILE_LENGTH = 16


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


def structure_factor_fit(h: np.ndarray, q_fraction: float = 0.25) -> float:
    """ζ from the least-squares slope of log S against log q over the lowest modes.

    Uses modes n = 1 … max(3, q_fraction·L/2) of the end-matched periodogram; the slope is
    −(1+2ζ). High q is left out because pixel quantisation flattens the spectrum there.
    """
    if not 0.0 < q_fraction <= 1.0:
        raise ValueError(f"q_fraction must be in (0, 1], got {q_fraction}")
    q, power = periodogram(h, "endmatch")
    n_use = max(3, int(round(q_fraction * q.size)))
    q, power = q[:n_use], power[:n_use]
    keep = power > 0
    if np.count_nonzero(keep) < 3:
        return float("nan")
    slope = np.polyfit(np.log(q[keep]), np.log(power[keep]), 1)[0]
    return float((-slope - 1.0) / 2.0)


# --- Whittle maximum likelihood -----------------------------------------------------------------

def _whittle_terms(theta: np.ndarray, log_q: np.ndarray, power: np.ndarray):
    """Negative log-likelihood and its gradient for θ = (ζ, ln A, ln σ²)."""
    zeta, log_a, log_s = theta
    signal = np.exp(log_a - (1.0 + 2.0 * zeta) * log_q)
    model = signal + np.exp(log_s)
    ratio = power / model
    nll = float(np.sum(np.log(model) + ratio))
    dnll_dmodel = (1.0 - ratio) / model
    grad = np.array([
        np.sum(dnll_dmodel * signal * (-2.0 * log_q)),
        np.sum(dnll_dmodel * signal),
        np.sum(dnll_dmodel * np.exp(log_s)),
    ])
    return nll, grad


def _numeric_hessian(log_q: np.ndarray, power: np.ndarray, theta: np.ndarray,
                     step: float = 1e-4) -> np.ndarray:
    """Observed information: central differences of the analytic gradient (symmetrised)."""
    dim = theta.size
    hess = np.empty((dim, dim))
    for i in range(dim):
        e = np.zeros(dim)
        e[i] = step
        g_plus = _whittle_terms(theta + e, log_q, power)[1]
        g_minus = _whittle_terms(theta - e, log_q, power)[1]
        hess[i] = (g_plus - g_minus) / (2.0 * step)
    return 0.5 * (hess + hess.T)


def _fit_whittle(log_q: np.ndarray, power: np.ndarray, zeta_bounds: tuple[float, float],
                 starts: list[float], log_noise: float, fit_noise: bool) -> tuple[np.ndarray, float]:
    """Minimise the Whittle likelihood from several ζ starts; return the best θ and its value.

    Several starts because the ζ–σ² trade-off can leave a shallow second minimum where the noise
    floor explains the high-q half of the spectrum in two different ways. With ``fit_noise``
    σ² is free above ``log_noise`` (the quantisation floor); otherwise it is fixed there.
    """
    noise_floor = log_noise
    hi_s = max(log_noise, float(np.log(np.max(power)))) + 1.0 if fit_noise else log_noise
    bounds = [zeta_bounds, (None, None), (log_noise, hi_s)]
    best_theta, best_value = None, np.inf
    for zeta0 in starts:
        zeta0 = float(np.clip(zeta0, zeta_bounds[0], zeta_bounds[1]))
        # ln A such that the power law matches the mean of the lowest quarter of the modes.
        low = slice(0, max(2, power.size // 4))
        log_a0 = float(np.log(np.mean(power[low] * np.exp((1.0 + 2.0 * zeta0) * log_q[low]))))
        theta0 = np.array([zeta0, log_a0, noise_floor])
        result = optimize.minimize(_whittle_terms, theta0, args=(log_q, power), jac=True,
                                   method="L-BFGS-B", bounds=bounds,
                                   options={"maxiter": 500, "ftol": 1e-12, "gtol": 1e-8})
        if result.fun < best_value:
            best_theta, best_value = result.x, float(result.fun)
    return best_theta, best_value


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
    length = h.size
    if length < MIN_PROFILE_LENGTH:
        raise ValueError(f"profile too short for Whittle: {length} points, "
                         f"at least {MIN_PROFILE_LENGTH} needed")
    crb = cramer_rao_bound(length)
    q, power = periodogram(h, "endmatch")
    last = length // 2 - 1 if n_modes is None else int(np.clip(n_modes, 4, length // 2 - 1))
    q, power = q[:last], power[:last]
    scale = float(np.mean(power))
    if not np.isfinite(scale) or scale <= 0.0:
        return float("nan"), crb  # flat profile: no roughness information at all
    power = power / scale  # conditioning only: ζ does not depend on the overall scale
    log_q = np.log(q)
    log_noise = float(np.log(QUANTISATION_VARIANCE / scale))
    sf_start = structure_factor_fit(h)
    starts = [0.4, 1.0] + ([sf_start] if np.isfinite(sf_start) else [])
    theta, _ = _fit_whittle(log_q, power, zeta_bounds, starts, log_noise, noise == "free")
    zeta = float(theta[0])
    return zeta, _standard_error(log_q, power, theta, zeta_bounds, crb, noise == "free")


def _standard_error(log_q: np.ndarray, power: np.ndarray, theta: np.ndarray,
                    zeta_bounds: tuple[float, float], crb: float, noise_fitted: bool) -> float:
    """sqrt of the (ζ, ζ) element of the inverse observed information, or the CRB.

    The information is computed in the fitted parameters only: (ζ, ln A), plus ln σ² when the
    noise floor was fitted and is not negligible (far below the signal its direction is flat).
    """
    zeta = theta[0]
    span = zeta_bounds[1] - zeta_bounds[0]
    if zeta <= zeta_bounds[0] + 1e-3 * span or zeta >= zeta_bounds[1] - 1e-3 * span:
        return crb
    signal_min = float(np.min(np.exp(theta[1] - (1.0 + 2.0 * zeta) * log_q)))
    dims = 3 if noise_fitted and np.exp(theta[2]) > 1e-3 * signal_min else 2
    hess = _numeric_hessian(log_q, power, theta)[:dims, :dims]
    try:
        eigen = np.linalg.eigvalsh(hess)
        if eigen[0] <= 0 or eigen[-1] / eigen[0] > 1e10:
            return crb
        variance = float(np.linalg.inv(hess)[0, 0])
    except np.linalg.LinAlgError:
        return crb
    if not np.isfinite(variance) or variance <= 0:
        return crb
    return float(np.sqrt(variance))


# --- whole images ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClassicalEstimate:
    """Classical ζ of one image, with the geometry the wall was found in."""

    zeta: float
    zeta_std: float
    zeta_structure_factor: float
    orientation: str
    bright_side: str
    length: int


def estimate_profile(h: np.ndarray, noise: str = "quantisation") -> tuple[float, float, float]:
    """(Whittle ζ, its standard error, structure-factor ζ) of one profile."""
    zeta, zeta_std = whittle(h, noise=noise)
    return zeta, zeta_std, structure_factor_fit(h)


def estimate_image(gray: np.ndarray) -> ClassicalEstimate:
    """Detect the wall in a grayscale image and estimate its ζ with Whittle.

    Clean binary images use the known quantisation noise floor; grayscale images fit it. Optical
    blur smooths the extracted wall below its width, so on blurred images ζ is overestimated.

    Raises
    ------
    NoInterfaceError
        When the image holds no usable wall (see :mod:`roughml.extract`).
    """
    from roughml import extract  # local import: extract pulls in scikit-image

    found = extract.detect_orientation(gray)
    canonical = extract.canonicalize(gray, found)
    h = extract.extract_profile(canonical)
    # A clean binary image has pure quantisation noise; any other image adds extraction errors.
    noise = "quantisation" if extract.is_two_level(np.asarray(canonical)) else "free"
    zeta, zeta_std, zeta_sf = estimate_profile(h, noise)
    return ClassicalEstimate(zeta=zeta, zeta_std=zeta_std, zeta_structure_factor=zeta_sf,
                             orientation=found.orientation, bright_side=found.bright_side,
                             length=int(h.size))
