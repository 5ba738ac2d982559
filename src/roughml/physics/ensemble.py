"""Ensemble estimates of ζ from many walls: averaged S(q) and B(r), local slopes, crossovers, and
the random-effects combination of per-wall estimates, each with a bootstrap over walls.

Why: one wall of a few hundred pixels pins ζ down to ±0.05–0.1 at best (the Cramér–Rao bound) and
real walls differ from each other (σ ≈ 0.1 between walls of one film), so careful practitioners
average tens of walls and fit the *ensemble* structure factor S(q) ∝ q^-(1+2ζ) and the
height-difference correlation B(r) ∝ r^{2ζ} over a window of scales that starts several blur widths
above the optical point-spread function. Resampling *walls* (not modes or increments) gives errors
that include the wall-to-wall spread. Looking at the local slope and testing for a bend before
quoting one number guards against fitting across a crossover.

Conventions: every scale is in pixels along the wall; S(q) is binned on q in rad/px, so walls of
different lengths share one grid (scale = 2π/q); fit windows are given as [lo, hi] px in real space
and default to [5 px, a quarter of the shortest wall] (:func:`fit_window`), so that every wall
contributes to every point of the fit. Each wall is scaled to a unit rms step before pooling (see
:func:`_check_profiles`), so S and B are in those units. Everything here takes plain arrays.

Limits, measured on synthetic walls (tests/physics/test_ensemble.py): S(q) recovers ζ within ±0.02
from 0.2 to 1.1 on continuous profiles; pixel quantisation (1/12 px², white) flattens S at the
smallest scales, which for ζ ≳ 0.9 on clean binary walls reaches ~10 px (ζ read 0.05–0.3 low with
the window from 5 px; the crossover test flags it); detrended B(r) reads ζ low as ζ → 1 (−0.03 at
0.7, −0.1 at 0.9) and saturates above 1, so S is the estimate and B a check.
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from roughml.physics.spectral import periodogram

#: Default lower end of the fit window (px): above the blur of typical microscopes (σ_PSF ≈ 1 px).
DEFAULT_MIN_SCALE_PX = 5.0
#: Default upper end of the fit window, as a share of the shortest wall (finite size and end
#: matching bend S and B at the largest scales).
MAX_SCALE_FRACTION = 0.25
#: Shortest wall (px) the ensemble uses.
MIN_WALL_LENGTH = 16
#: Log-spaced bins of q per decade for S(q); log-spaced r values per decade for B(r).
BINS_PER_DECADE = 10
#: A broken power law must lower the BIC by at least this much (“very strong” on Kass & Raftery's
#: scale) to report a crossover ...
CROSSOVER_MIN_DELTA_BIC = 10.0
#: ... and its two exponents must differ by at least this much (smaller bends are not physics one
#: can tell from estimator curvature) ...
CROSSOVER_MIN_DELTA_ZETA = 0.1
#: ... with at least this many decades of scale and 3 points on either side of the break.
CROSSOVER_MIN_DECADES = 0.2


def zeta_of_slope(kind: str, slope: np.ndarray | float) -> np.ndarray | float:
    """ζ from the slope of log S or log B against log scale: S ∝ scale^(1+2ζ), B ∝ scale^(2ζ)."""
    return (slope - 1.0) / 2.0 if kind == "S" else slope / 2.0


@dataclass(frozen=True)
class WallStack:
    """Per-wall sums behind an ensemble curve, kept so that walls can be resampled.

    ``kind`` is ``"S"`` (structure factor, ``x`` = q in rad/px) or ``"B"`` (height-difference
    correlation, ``x`` = r in px). Row i of ``sums``/``counts`` is wall i's sum and number of
    periodogram values (squared increments) per point; ``log_x`` is the sum of log x of those values.
    """

    kind: str
    nominal_x: np.ndarray
    sums: np.ndarray
    counts: np.ndarray
    log_x: np.ndarray

    @property
    def n_walls(self) -> int:
        return int(self.sums.shape[0])

    def scale(self, x: np.ndarray) -> np.ndarray:
        """Real-space scale (px) of ``x``: 2π/q for S, r for B."""
        return 2.0 * np.pi / x if self.kind == "S" else np.asarray(x, dtype=np.float64)

    def curve(self) -> "Curve":
        """The ensemble curve: values pooled over all walls (each mode / increment counts once)."""
        counts = self.counts.sum(axis=0)
        keep = counts > 0
        value = self.sums.sum(axis=0)[keep] / counts[keep]
        x = np.exp(self.log_x.sum(axis=0)[keep] / counts[keep])
        # S: modes are independent, so a bin's log-mean has variance ∝ 1/modes. B: increments at
        # one r overlap heavily, so the log-spaced points are weighted equally.
        weight = counts[keep].astype(np.float64) if self.kind == "S" else np.ones(int(keep.sum()))
        return Curve(self.kind, self.scale(x), value, weight, self.scale(self.nominal_x[keep]))


@dataclass(frozen=True)
class Curve:
    """An ensemble S(q) or B(r) as a function of the real-space scale (px), ascending in x."""

    kind: str
    scale: np.ndarray
    value: np.ndarray
    weight: np.ndarray
    nominal_scale: np.ndarray

    def zeta(self, slope: np.ndarray | float) -> np.ndarray | float:
        """ζ from a slope of log value against log scale (:func:`zeta_of_slope`)."""
        return zeta_of_slope(self.kind, slope)

    def in_window(self, window: tuple[float, float]) -> np.ndarray:
        """Points whose nominal scale lies in [lo, hi] px (fixed under resampling)."""
        return (self.nominal_scale >= window[0]) & (self.nominal_scale <= window[1])


@dataclass(frozen=True)
class PowerLawFit:
    """A power law fitted over a window: ζ, log-log slope against scale, intercept, points used."""

    kind: str
    zeta: float
    slope: float
    intercept: float
    window: tuple[float, float]
    n_points: int

    def predict(self, scale: np.ndarray) -> np.ndarray:
        """The fitted curve at ``scale`` (px)."""
        return np.exp(self.intercept + self.slope * np.log(scale))


@dataclass(frozen=True)
class Crossover:
    """Best two-regime (broken) power law against one power law; ``scale_px`` None when not found."""

    scale_px: float | None
    zeta_small: float
    zeta_large: float
    delta_bic: float
    candidate_px: float


@dataclass(frozen=True)
class Combined:
    """Random-effects combination of per-wall estimates (DerSimonian–Laird).

    ``tau2`` is the genuine wall-to-wall variance of ζ beyond the per-wall errors; ``i2`` the share
    of the observed spread it explains; ``ci95`` the bootstrap-over-walls 95 % interval.
    """

    zeta: float
    se: float
    tau2: float
    q: float
    i2: float
    k: int
    zeta_fixed: float
    ci95: tuple[float, float]

    @property
    def tau(self) -> float:
        return float(np.sqrt(self.tau2))


def _check_profiles(profiles: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The profiles as float64 arrays, each scaled to a unit mean squared step (see below).

    Why the scaling: wall amplitudes differ by factors of several (and are a nuisance), so a plain
    pooled average is dominated by the few widest walls. Dividing each wall by the rms of its
    steps h(x+1) − h(x) (tilt removed) weighs every wall alike; unlike the rms width, which the
    largest scales set, the steps hardly depend on a wall's large-scale excursions, so the scaling
    does not bend the curves (scaling by the rms width biases B(r)'s ζ low by up to 0.05).
    """
    walls = []
    for h in profiles:
        h = np.asarray(h, dtype=np.float64)
        if h.ndim != 1 or h.size < MIN_WALL_LENGTH or not np.all(np.isfinite(h)):
            raise ValueError(f"profiles must be finite 1-D arrays of at least {MIN_WALL_LENGTH} points")
        step = float(np.std(np.diff(h)))
        walls.append(h / step if step > 0 else h)
    if not walls:
        raise ValueError("no profiles")
    return walls


def structure_factor_stack(profiles: Sequence[np.ndarray], bins_per_decade: int = BINS_PER_DECADE) -> WallStack:
    """Per-wall end-matched periodograms binned on a common log grid of q (rad/px).

    End matching because the walls are not periodic (a window would down-weight the ends of short
    walls); the Nyquist mode is left out (its periodogram is not exponentially distributed).
    Binning on absolute q rather than mode number lets walls of any length share one curve.
    """
    walls = _check_profiles(profiles)
    q_low = 2.0 * np.pi / max(h.size for h in walls) * 10 ** (-0.5 / bins_per_decade)
    n_bins = int(np.ceil(np.log10(np.pi / q_low) * bins_per_decade))
    nominal = q_low * 10 ** ((np.arange(n_bins) + 0.5) / bins_per_decade)
    sums, counts, log_x = (np.zeros((len(walls), n_bins)) for _ in range(3))
    for i, h in enumerate(walls):
        q, power = periodogram(h, "endmatch")
        q, power = q[: h.size // 2 - 1], power[: h.size // 2 - 1]
        index = np.minimum((np.log10(q / q_low) * bins_per_decade).astype(np.intp), n_bins - 1)
        sums[i] = np.bincount(index, power, n_bins)
        counts[i] = np.bincount(index, None, n_bins)
        log_x[i] = np.bincount(index, np.log(q), n_bins)
    return WallStack("S", nominal, sums, counts, log_x)


def _detrended(h: np.ndarray) -> np.ndarray:
    """``h`` minus its least-squares line: a tilt would add (slope·r)² and fake ζ ≈ 1."""
    x = np.arange(h.size, dtype=np.float64) - (h.size - 1) / 2.0
    return h - h.mean() - x * (np.dot(x, h) / np.dot(x, x))


def height_difference_stack(profiles: Sequence[np.ndarray],
                            points_per_decade: int = 2 * BINS_PER_DECADE) -> WallStack:
    """Per-wall sums of squared increments (h(x+r) − h(x))² on log-spaced integer r ≤ L/2."""
    walls = _check_profiles(profiles)
    r_max = max(h.size for h in walls) // 2
    decades = np.log10(r_max)
    r = np.unique(np.round(np.logspace(0.0, decades, int(decades * points_per_decade) + 1)).astype(np.intp))
    sums, counts = np.zeros((len(walls), r.size)), np.zeros((len(walls), r.size))
    for i, h in enumerate(walls):
        h = _detrended(h)
        for j, step in enumerate(r[r <= h.size // 2]):
            diff = h[step:] - h[:-step]
            sums[i, j], counts[i, j] = np.dot(diff, diff), diff.size
    return WallStack("B", r.astype(np.float64), sums, counts, counts * np.log(r)[None, :])


def fit_window(lengths: Sequence[int], min_scale_px: float = DEFAULT_MIN_SCALE_PX,
               max_scale_px: float | None = None) -> tuple[float, float]:
    """The fit window [lo, hi] px: lo above the blur scale, hi a quarter of the shortest wall.

    The shortest wall sets hi so that every wall contributes to every fitted point: otherwise the
    largest scales would average a different set of walls (of other amplitudes) than the smallest
    and bend the curve.
    """
    lo = float(min_scale_px)
    hi = float(max_scale_px) if max_scale_px is not None else MAX_SCALE_FRACTION * float(min(lengths))
    if not 0.0 < lo < hi:
        raise ValueError(f"empty fit window [{lo:g}, {hi:g}] px")
    return lo, hi


def _weighted_slopes(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least-squares slope and intercept of y on x along the last axis (rows may be stacked)."""
    sw = w.sum(axis=-1, keepdims=True)
    xm = (w * x).sum(axis=-1, keepdims=True) / sw
    ym = (w * y).sum(axis=-1, keepdims=True) / sw
    slope = (w * (x - xm) * (y - ym)).sum(axis=-1) / (w * (x - xm) ** 2).sum(axis=-1)
    return slope, ym[..., 0] - slope * xm[..., 0]


def fit_power_law(curve: Curve, window: tuple[float, float]) -> PowerLawFit:
    """Least-squares power law of ``curve`` over ``window`` (weighted by :attr:`Curve.weight`).

    ζ is NaN when fewer than 3 points fall in the window.
    """
    keep = curve.in_window(window) & (curve.value > 0)
    if np.count_nonzero(keep) < 3:
        return PowerLawFit(curve.kind, float("nan"), float("nan"), float("nan"), window, int(keep.sum()))
    slope, intercept = _weighted_slopes(np.log(curve.scale[keep]), np.log(curve.value[keep]), curve.weight[keep])
    return PowerLawFit(curve.kind, float(curve.zeta(slope)), float(slope), float(intercept), window,
                       int(keep.sum()))


def bootstrap_zeta(stack: WallStack, window: tuple[float, float], rng: np.random.Generator,
                   n_boot: int = 1000) -> np.ndarray:
    """ζ of the ensemble fit for ``n_boot`` resamples of the walls (with replacement).

    Walls, not modes, are resampled: modes of one wall share its amplitude and its ζ, so only the
    spread between walls tells how well the ensemble pins ζ down. Vectorised: a resample is a row
    of multiplicities, and its pooled curve is that row times the per-wall sums.
    """
    n = stack.n_walls
    nominal = stack.scale(stack.nominal_x)
    inside = (nominal >= window[0]) & (nominal <= window[1])
    counts_w, sums_w, log_x_w = stack.counts[:, inside], stack.sums[:, inside], stack.log_x[:, inside]
    out = []
    for size in _chunk_sizes(int(n_boot), n):
        times = rng.multinomial(n, np.full(n, 1.0 / n), size=size).astype(np.float64)
        counts, sums, log_x = times @ counts_w, times @ sums_w, times @ log_x_w
        ok = (counts > 0) & (sums > 0)
        safe = np.where(ok, counts, 1.0)
        x = np.log(stack.scale(np.exp(log_x / safe)))
        y = np.log(np.where(ok, sums, 1.0) / safe)
        w = np.where(ok, counts if stack.kind == "S" else 1.0, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.where(np.count_nonzero(ok, axis=1) >= 3, _weighted_slopes(x, y, w)[0], np.nan)
        out.append(np.asarray(zeta_of_slope(stack.kind, slope), dtype=np.float64))
    return np.concatenate(out) if out else np.empty(0)


def _chunk_sizes(n_boot: int, n_walls: int, budget: int = 2_000_000) -> list[int]:
    """Bootstrap resamples per chunk, so that a chunk's (resamples × walls) arrays stay ~16 MB."""
    step = max(1, budget // max(n_walls, 1))
    return [min(step, n_boot - start) for start in range(0, n_boot, step)]


def percentile_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap values (NaN rows ignored; NaNs when none are finite)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    tail = 50.0 * (1.0 - level)
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)


def with_systematic(centre: float, statistical: tuple[float, float],
                    others: Sequence[float]) -> tuple[float, tuple[float, float]]:
    """Systematic error and total interval of an estimate that other estimators contradict.

    Why: the bootstrap interval of one estimator only knows its statistical error; estimators of
    one sample (the network, the structure-factor fit) differ by more than that whenever either is
    biased by the optics, the fit window or the physics the model was not trained on, and real
    practice reports that estimator-to-estimator spread as the systematic error (physics.md). Nothing
    says which estimator is right, so the systematic half-width is the largest distance from
    ``centre`` to a finite ``others`` (the total interval reaches the other estimate); it is added
    in quadrature to each side of the statistical interval.

    Returns
    -------
    systematic, (low, high) : float, tuple of float
        0 and the statistical interval itself when no other estimate is available.
    """
    finite = [float(v) for v in others if v is not None and math.isfinite(v)]
    systematic = max((abs(v - centre) for v in finite), default=0.0)
    low, high = statistical
    if not (math.isfinite(low) and math.isfinite(high)):
        return systematic, (low, high)
    below, above = math.hypot(centre - low, systematic), math.hypot(high - centre, systematic)
    return systematic, (centre - below, centre + above)


def local_slope(curve: Curve, smoothing_decades: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """Local exponent ζ_eff(scale): the derivative of the smoothed log-log curve.

    At every point a Gaussian kernel (``smoothing_decades`` wide in log10 scale) weights a local
    straight-line fit of log value against log scale, i.e. the finite difference of the smoothed
    curve over about one kernel width: without the smoothing, the bin-to-bin noise of log S or
    log B swamps the slope. A self-affine ensemble gives a flat line at ζ; a crossover a bend;
    blur a rise toward the smallest scales.
    """
    keep = curve.value > 0
    x, y, w = np.log10(curve.scale[keep]), np.log(curve.value[keep]), curve.weight[keep]
    kernel = np.exp(-0.5 * ((x[:, None] - x[None, :]) / smoothing_decades) ** 2) * w[None, :]
    slope, _ = _weighted_slopes(np.broadcast_to(x * np.log(10.0), kernel.shape),
                                np.broadcast_to(y, kernel.shape), kernel)
    return curve.scale[keep], np.asarray(curve.zeta(slope), dtype=np.float64)


def _bic(rss: float, n: int, k: int) -> float:
    return n * np.log(max(rss, 1e-300) / n) + k * np.log(n)


def detect_crossover(curve: Curve, window: tuple[float, float], *,
                     min_delta_bic: float = CROSSOVER_MIN_DELTA_BIC,
                     min_delta_zeta: float = CROSSOVER_MIN_DELTA_ZETA,
                     min_decades: float = CROSSOVER_MIN_DECADES) -> Crossover:
    """Test one power law against two joined at a break scale, over the points in ``window``.

    The broken law is continuous at its break (4 parameters: level, two slopes, break; the break
    is searched on a fine grid, the rest is linear least squares); one power law has 2. Both are
    weighted as in :func:`fit_power_law` (weights rescaled to sum to the number of points, so
    the BIC's Gaussian likelihood uses the weighted residual variance). A crossover is reported
    only when the BIC falls by ``min_delta_bic`` (strong evidence, a factor e⁵ in the posterior
    odds) *and* the exponents differ by ``min_delta_zeta``: with many walls any slight curvature
    (pixel noise at small scales, finite size at large ones) becomes statistically significant,
    yet is not a second regime. ``candidate_px`` is the best break whether or not it passes.
    """
    keep = curve.in_window(window) & (curve.value > 0)
    x, y = np.log(curve.scale[keep]), np.log(curve.value[keep])
    w = curve.weight[keep] * keep.sum() / max(curve.weight[keep].sum(), 1e-300)
    n, none = x.size, Crossover(None, float("nan"), float("nan"), float("nan"), float("nan"))
    if n < 7:
        return none
    slope, intercept = _weighted_slopes(x, y, w)
    bic_one = _bic(float(np.sum(w * (y - intercept - slope * x) ** 2)), n, 2)
    margin = min_decades * np.log(10.0)
    grid = np.linspace(x.min() + margin, x.max() - margin, 200)
    best = (np.inf, float("nan"), float("nan"), float("nan"))
    for brk in grid:
        if np.count_nonzero(x < brk) < 3 or np.count_nonzero(x > brk) < 3:
            continue
        design = np.stack([np.ones_like(x), np.minimum(x - brk, 0.0), np.maximum(x - brk, 0.0)], axis=1)
        root = np.sqrt(w)[:, None]
        coef = np.linalg.lstsq(design * root, y * root[:, 0], rcond=None)[0]
        rss = float(np.sum(w * (y - design @ coef) ** 2))
        if rss < best[0]:
            best = (rss, brk, coef[1], coef[2])
    if not np.isfinite(best[0]):
        return none
    delta = bic_one - _bic(best[0], n, 4)
    small, large = float(curve.zeta(best[2])), float(curve.zeta(best[3]))
    found = delta >= min_delta_bic and abs(small - large) >= min_delta_zeta
    scale = float(np.exp(best[1]))
    return Crossover(scale if found else None, small, large, float(delta), scale)


def _dersimonian_laird(zeta: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, ...]:
    """(ζ_RE, se, τ², Q, ζ_FE) along the last axis (rows may be bootstrap resamples).

    τ² = max(0, (Q − (k−1)) / (Σw − Σw²/Σw)) with fixed-effect weights w = 1/σ²: the method-of-
    moments excess of Cochran's Q over what the per-wall errors alone would give.
    """
    k = zeta.shape[-1]
    w = 1.0 / var
    sw = w.sum(axis=-1)
    fixed = (w * zeta).sum(axis=-1) / sw
    q = (w * (zeta - fixed[..., None]) ** 2).sum(axis=-1)
    c = sw - (w * w).sum(axis=-1) / sw
    tau2 = np.where(c > 0, np.maximum(0.0, (q - (k - 1)) / np.where(c > 0, c, 1.0)), 0.0)
    ws = 1.0 / (var + tau2[..., None])
    return (ws * zeta).sum(axis=-1) / ws.sum(axis=-1), 1.0 / np.sqrt(ws.sum(axis=-1)), tau2, q, fixed


def combine_walls(zeta: Sequence[float], sigma: Sequence[float], rng: np.random.Generator | None = None,
                  n_boot: int = 2000, level: float = 0.95) -> Combined:
    """Precision-weighted random-effects mean of per-wall (ζ_i, σ_i), with a bootstrap interval.

    Why random effects: walls of one sample genuinely differ (σ ≈ 0.1 in experiments), so the
    per-wall σ_i alone understate the error of the mean and a fixed-effect mean would let a few
    confident walls dominate. DerSimonian–Laird estimates the extra variance τ² from the excess
    scatter and weights each wall by 1/(σ_i² + τ²). The interval resamples walls with replacement
    (re-estimating τ² each time), which needs no normality of the wall-to-wall distribution; with
    fewer than about 10 walls it is too narrow, which callers should say.
    """
    z, s = np.asarray(zeta, dtype=np.float64), np.asarray(sigma, dtype=np.float64)
    if z.shape != s.shape or z.ndim != 1 or z.size == 0:
        raise ValueError("zeta and sigma must be 1-D arrays of the same, non-zero length")
    if not (np.all(np.isfinite(z)) and np.all(np.isfinite(s)) and np.all(s > 0)):
        raise ValueError("zeta must be finite and sigma finite and positive")
    var = s * s
    mean, se, tau2, q, fixed = (float(v) for v in _dersimonian_laird(z, var))
    k = z.size
    i2 = max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    if k == 1:
        ci = (mean - 1.96 * se, mean + 1.96 * se)
    else:
        rng = np.random.default_rng() if rng is None else rng
        means = [_dersimonian_laird(z[index], var[index])[0]
                 for index in (rng.integers(0, k, size=(size, k)) for size in _chunk_sizes(int(n_boot), k))]
        ci = percentile_interval(np.concatenate(means), level)
    return Combined(mean, se, tau2, q, i2, k, fixed, ci)


@dataclass(frozen=True)
class EnsembleFit:
    """The classical ensemble analysis of a set of walls (see :func:`ensemble_fit`)."""

    window: tuple[float, float]
    n_walls: int
    structure_factor: Curve
    height_difference: Curve
    fit_s: PowerLawFit
    fit_b: PowerLawFit
    ci95_s: tuple[float, float]
    ci95_b: tuple[float, float]
    local_s: tuple[np.ndarray, np.ndarray]
    local_b: tuple[np.ndarray, np.ndarray]
    crossover: Crossover


def ensemble_fit(profiles: Sequence[np.ndarray], window: tuple[float, float] | None = None, *,
                 min_scale_px: float = DEFAULT_MIN_SCALE_PX, rng: np.random.Generator | None = None,
                 n_boot: int = 1000) -> EnsembleFit:
    """Ensemble S(q) and B(r) of ``profiles``, power laws over the window, bootstrap intervals,
    local slopes and the crossover test (on S, which holds for every ζ; B saturates near ζ = 1).

    ``window`` defaults to :func:`fit_window` of the walls' lengths with ``min_scale_px``.
    """
    walls = _check_profiles(profiles)
    window = fit_window([h.size for h in walls], min_scale_px) if window is None else window
    rng = np.random.default_rng() if rng is None else rng
    s_stack, b_stack = structure_factor_stack(walls), height_difference_stack(walls)
    s_curve, b_curve = s_stack.curve(), b_stack.curve()
    single = len(walls) < 2
    ci_s = (float("nan"),) * 2 if single else percentile_interval(bootstrap_zeta(s_stack, window, rng, n_boot))
    ci_b = (float("nan"),) * 2 if single else percentile_interval(bootstrap_zeta(b_stack, window, rng, n_boot))
    return EnsembleFit(window, len(walls), s_curve, b_curve, fit_power_law(s_curve, window),
                       fit_power_law(b_curve, window), ci_s, ci_b, local_slope(s_curve),
                       local_slope(b_curve), detect_crossover(s_curve, window))
