"""The optimiser behind :func:`roughml.physics.spectral.whittle`: scan, then bounded Newton.

The Whittle negative log-likelihood of a periodogram ``I(q)`` under the model
``S_θ(q) = A q^{-(1+2ζ)} + σ²`` is minimised over θ = (ζ, ln A, ln σ²). This module works on the
spectrum only (``ln q`` and the scaled periodogram); :mod:`roughml.physics.spectral` turns a
profile into that spectrum and the result into an estimate.

Why not a general-purpose optimiser: with at most three parameters and a few hundred modes, the
cost of scipy's L-BFGS-B is almost all call overhead (hundreds of Python round trips per fit,
several starts, then a finite-difference Hessian). Here the search is split in two:

1. a *scan*: on a coarse ζ grid the amplitude A is profiled out by a few Newton steps done for
   all grid points at once (one array operation per step), at the quantisation floor and, when
   σ² is free, also at the level of the high-q plateau. This finds the basin of the global
   minimum without a per-start Python loop; the ζ–σ² trade-off that can leave a second shallow
   minimum shows up as a second local minimum of the scan.
2. a *polish*: bounded Newton on θ = (ζ, ln A[, ln σ²]) with the analytic Hessian (Fisher
   scoring where it is not positive definite) from the best scan point(s); it converges
   quadratically in a handful of steps, and the analytic Hessian at the optimum gives the
   standard error without finite differences.
"""

from __future__ import annotations

import numpy as np

#: Spacing of the ζ grid of the scan: far below the width of any basin of the likelihood.
SCAN_STEP = 0.1
#: Newton steps on ln A per scan point (the scan only has to land in the right basin).
SCAN_NEWTON_STEPS = 6
#: Scan minima whose profile likelihood is within this many nats of the best one are polished too
#: (an off-grid ζ lowers a scan value by well under 1 nat at these lengths; a free σ² may lower
#: it more, which is why that case is scanned at two noise levels). Checked against a dense
#: multi-start search: the same optimum on every one of 1,800 profiles of 128–512 points.
POLISH_MARGIN = 2.0
#: Largest change of ζ (and of ln A, ln σ²) in one polish step: a trust region for Newton.
MAX_ZETA_STEP = 0.5
MAX_LOG_STEP = 5.0
MAX_POLISH_STEPS = 60
#: Newton decrement (predicted drop of the negative log-likelihood) at which the polish stops.
NEWTON_TOLERANCE = 1e-12


def whittle_terms(theta: np.ndarray, log_q: np.ndarray, power: np.ndarray,
                  derivatives: bool = True):
    """Negative log-likelihood of θ = (ζ, ln A, ln σ²) and, optionally, its derivatives.

    Returns ``nll`` alone, or ``(nll, gradient, hessian, fisher)``: the analytic observed Hessian
    and the expected information Σ ∇ln S ∇ln Sᵀ (positive semi-definite; used where the observed
    Hessian is not positive definite, i.e. far from the optimum).
    """
    zeta, log_a, log_s = theta
    signal = np.exp(log_a - (1.0 + 2.0 * zeta) * log_q)
    noise = float(np.exp(log_s))
    model = signal + noise
    ratio = power / model
    nll = float(np.sum(np.log(model)) + np.sum(ratio))
    if not derivatives:
        return nll
    # Per mode ℓ = ln S + I/S: dℓ/dS = (1 − I/S)/S and d²ℓ/dS² = (2I/S − 1)/S².
    d_model = np.empty((3, log_q.size))
    np.multiply(-2.0 * log_q, signal, out=d_model[0])
    d_model[1] = signal
    d_model[2] = noise
    first = (1.0 - ratio) / model
    grad = d_model @ first
    scaled = d_model / model
    fisher = scaled @ scaled.T
    hess = (scaled * (2.0 * ratio - 1.0)) @ scaled.T
    # Plus dℓ/dS · d²S/dθ²: S_ζζ = 4 ln²q·signal, S_ζa = −2 ln q·signal, S_aa = signal, S_ss = σ².
    weighted = first * signal
    moment1 = float(weighted @ log_q)
    hess[0, 0] += 4.0 * float((weighted * log_q) @ log_q)
    hess[0, 1] -= 2.0 * moment1
    hess[1, 0] -= 2.0 * moment1
    hess[1, 1] += float(np.sum(weighted))
    hess[2, 2] += noise * float(np.sum(first))
    return nll, grad, hess, fisher


def _newton_direction(grad: np.ndarray, hess: np.ndarray, fisher: np.ndarray) -> np.ndarray:
    """Newton step −H⁻¹g, or the Fisher-scoring step where H is not positive definite."""
    try:
        chol = np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        ridge = 1e-9 * max(float(np.trace(fisher)), 1e-300)
        return -np.linalg.solve(fisher + ridge * np.eye(grad.size), grad)
    return -np.linalg.solve(chol.T, np.linalg.solve(chol, grad))


def polish(theta: np.ndarray, lower: np.ndarray, upper: np.ndarray, log_q: np.ndarray,
           power: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Bounded Newton minimisation of the Whittle likelihood from ``theta``.

    Parameters with ``lower == upper`` stay fixed; one that sits on a bound with the gradient
    pushing outwards is held there for the step (projected Newton). Steps are shortened by
    halving until the likelihood drops enough (Armijo), so the value never increases. Stops when
    the predicted decrease of a Newton step (the Newton decrement) is below ``NEWTON_TOLERANCE``:
    ζ is then within ~1e-7 of the optimum, and that last step is taken without evaluation.

    Returns
    -------
    theta, value, hessian
        The optimum, its negative log-likelihood and the analytic Hessian there (for the
        standard error).
    """
    theta = np.clip(np.asarray(theta, dtype=np.float64), lower, upper)
    fitted = np.flatnonzero(upper > lower)
    value, grad, hess, fisher = whittle_terms(theta, log_q, power)
    for _ in range(MAX_POLISH_STEPS):
        held = ((theta <= lower) & (grad > 0)) | ((theta >= upper) & (grad < 0))
        free = fitted[~held[fitted]]
        if free.size == 0:
            break
        step = np.zeros(3)
        step[free] = _newton_direction(grad[free], hess[np.ix_(free, free)], fisher[np.ix_(free, free)])
        decrement = -float(grad @ step)
        if 0.0 <= decrement < NEWTON_TOLERANCE:
            theta = np.clip(theta + step, lower, upper)
            break
        step /= max(1.0, abs(step[0]) / MAX_ZETA_STEP, float(np.max(np.abs(step[1:]))) / MAX_LOG_STEP)
        candidate = np.clip(theta + step, lower, upper)
        terms = whittle_terms(candidate, log_q, power)  # a full Newton step is usually accepted
        length = 1.0
        while not terms[0] <= value + 1e-4 * float(grad @ (candidate - theta)):
            length *= 0.5
            if length < 1e-10:
                return theta, value, hess  # no descent left: converged to rounding
            candidate = np.clip(theta + length * step, lower, upper)
            terms = (whittle_terms(candidate, log_q, power, derivatives=False),)
        if len(terms) == 1:
            terms = whittle_terms(candidate, log_q, power)
        theta = candidate
        value, grad, hess, fisher = terms
    return theta, value, hess


def _profile_scan(zetas: np.ndarray, log_q: np.ndarray, power: np.ndarray,
                  log_noise: float) -> tuple[np.ndarray, np.ndarray]:
    """ln A and the negative log-likelihood profiled over ln A, at every ζ of a grid, σ² fixed.

    All grid points are solved together: a few Newton steps on ln A (Fisher scoring where the
    observed curvature is small), from the amplitude that matches the lowest quarter of the modes.
    """
    shape = np.exp(-(1.0 + 2.0 * zetas[:, None]) * log_q[None, :])
    noise = float(np.exp(log_noise))
    low = slice(0, max(2, power.size // 4))
    log_a = np.log(np.maximum(np.mean(power[low] / shape[:, low], axis=1), 1e-300))
    for _ in range(SCAN_NEWTON_STEPS):
        signal = np.exp(log_a)[:, None] * shape
        model = signal + noise
        share = signal / model                     # d ln S / d ln A
        residual = 1.0 - power / model
        grad = np.sum(residual * share, axis=1)
        fisher = np.sum(share * share, axis=1)
        curvature = fisher + np.sum(residual * share * (1.0 - 2.0 * share), axis=1)
        curvature = np.where(curvature > 0.1 * fisher, curvature, fisher)
        log_a -= np.clip(grad / np.maximum(curvature, 1e-300), -2.0, 2.0)
    model = np.exp(log_a)[:, None] * shape + noise
    return log_a, np.sum(np.log(model) + power / model, axis=1)


def _scan_minima(values: np.ndarray) -> np.ndarray:
    """Indices of the local minima of a 1-D scan (ends included), best first; NaN never counts."""
    values = np.where(np.isfinite(values), values, np.inf)
    padded = np.concatenate([[np.inf], values, [np.inf]])
    index = np.flatnonzero((values <= padded[:-2]) & (values <= padded[2:]) & np.isfinite(values))
    return index[np.argsort(values[index], kind="stable")]


def _refine_on_grid(zetas: np.ndarray, log_a: np.ndarray, values: np.ndarray, i: int) -> tuple[float, float]:
    """(ζ, ln A) at the vertex of the parabola through scan point ``i`` and its neighbours.

    Starts the polish a few hundredths from the optimum instead of up to half a grid step away,
    which saves Newton steps; ends of the grid are returned as they are.
    """
    if i == 0 or i == zetas.size - 1:
        return float(zetas[i]), float(log_a[i])
    left, mid, right = values[i - 1], values[i], values[i + 1]
    curvature = left - 2.0 * mid + right
    if not curvature > 0.0:
        return float(zetas[i]), float(log_a[i])
    shift = float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5))  # in grid steps
    slope = 0.5 * (log_a[i + 1] - log_a[i - 1])
    bend = log_a[i + 1] - 2.0 * log_a[i] + log_a[i - 1]
    step = zetas[i + 1] - zetas[i]
    return float(zetas[i] + shift * step), float(log_a[i] + shift * slope + 0.5 * shift * shift * bend)


def fit_whittle(log_q: np.ndarray, power: np.ndarray, zeta_bounds: tuple[float, float],
                log_noise: float, fit_noise: bool) -> tuple[np.ndarray, float, np.ndarray]:
    """Global minimum of the Whittle likelihood: scan, then polish.

    With ``fit_noise`` σ² is free between ``log_noise`` (the quantisation floor) and above the
    largest periodogram value; otherwise it is fixed at the floor.

    Returns
    -------
    theta, value, hessian
        θ = (ζ, ln A, ln σ²) at the minimum, the negative log-likelihood and its Hessian there.
    """
    lo, hi = float(zeta_bounds[0]), float(zeta_bounds[1])
    zetas = np.linspace(lo, hi, max(3, int(np.ceil((hi - lo) / SCAN_STEP - 1e-9)) + 1))
    hi_s = max(log_noise, float(np.log(np.max(power)))) + 1.0 if fit_noise else log_noise
    lower = np.array([lo, -np.inf, log_noise])
    upper = np.array([hi, np.inf, hi_s])
    levels = [log_noise]
    if fit_noise:  # also scan with the noise floor at the high-q plateau of the periodogram
        plateau = float(np.log(np.mean(power[-max(2, power.size // 4):])))
        if plateau > log_noise + 0.5:
            levels.append(min(plateau, hi_s))
    starts = []
    for level in levels:
        log_a, values = _profile_scan(zetas, log_q, power, level)
        starts += [(float(values[i]), np.array([*_refine_on_grid(zetas, log_a, values, i), level]))
                   for i in _scan_minima(values)]
    if not starts:  # degenerate spectrum (no finite scan value): polish from the middle
        middle = 0.5 * (lo + hi)
        starts = [(0.0, np.array([middle, float(np.log(np.mean(power))), log_noise]))]
    starts.sort(key=lambda start: start[0])
    best = (starts[0][1], np.inf, np.full((3, 3), np.nan))
    for scan_value, theta0 in starts:
        if scan_value > starts[0][0] + POLISH_MARGIN:
            break
        theta, value, hess = polish(theta0, lower, upper, log_q, power)
        if value < best[1]:
            best = (theta, value, hess)
    return best


def standard_error(log_q: np.ndarray, theta: np.ndarray, hess: np.ndarray,
                   zeta_bounds: tuple[float, float], crb: float, noise_fitted: bool) -> float:
    """sqrt of the (ζ, ζ) element of the inverse observed information, or the CRB.

    ``hess`` is the analytic Hessian at ``theta`` (from the polish); the information is its block
    of the fitted parameters only: (ζ, ln A), plus ln σ² when the noise floor was fitted and is not
    negligible (far below the signal its direction is flat). ``crb`` (the Cramér–Rao bound of the
    profile length) is returned where that information says nothing: ζ on a bound of
    ``zeta_bounds`` or an ill-conditioned Hessian.
    """
    zeta = theta[0]
    span = zeta_bounds[1] - zeta_bounds[0]
    if zeta <= zeta_bounds[0] + 1e-3 * span or zeta >= zeta_bounds[1] - 1e-3 * span:
        return crb
    signal_min = float(np.min(np.exp(theta[1] - (1.0 + 2.0 * zeta) * log_q)))
    dims = 3 if noise_fitted and np.exp(theta[2]) > 1e-3 * signal_min else 2
    hess = hess[:dims, :dims]
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
