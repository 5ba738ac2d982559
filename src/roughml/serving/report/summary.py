"""The numbers of an ensemble report: combined model ζ, classical ensemble ζ, their intervals, warnings.

Why: a folder of walls from one sample is measured to learn *its* ζ, not each wall's; the per-wall
table alone invites averaging by eye. Two independent ensemble estimates are reported side by
side, each with a bootstrap-over-walls 95 % interval: the model's per-wall (ζ_i, σ_i) combined by
a random-effects mean (:func:`roughml.physics.ensemble.combine_walls`, whose τ is the genuine
wall-to-wall spread), and the classical fit of the walls' ensemble structure factor
(:func:`roughml.physics.ensemble.ensemble_fit`). Only ok rows enter the statistics; the warnings
say what a careful reader should check before quoting a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from roughml.physics import ensemble
from roughml.serving.rows import Row

#: Fewer walls than this: bootstrap intervals are too narrow and the spread is poorly known.
MIN_WALLS = 10
#: Above this classical ζ, B(r) reads low (real-space estimators saturate at 1): S(q) is the estimate.
SUPER_ROUGH = 0.9
#: A fit window narrower than this (decades of scale) pins a slope down poorly.
MIN_WINDOW_DECADES = 0.5
#: Bootstrap resamples of the walls, and the seed that makes a report reproducible.
N_BOOT = 2000
SEED = 20240614


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows: the rows, the summary dict and the analyses behind the plots."""

    rows: list[Row]
    summary: dict[str, Any]
    combined: ensemble.Combined | None
    classical: ensemble.EnsembleFit | None


def _model_walls(rows: Sequence[Row]) -> tuple[np.ndarray, np.ndarray]:
    """(ζ_i, σ_i) of the ok rows that carry a usable model estimate."""
    pairs = [(r.zeta, r.zeta_std) for r in rows if r.status == "ok" and r.zeta is not None
             and r.zeta_std is not None and math.isfinite(r.zeta) and r.zeta_std > 0]
    values = np.asarray(pairs, dtype=np.float64).reshape(-1, 2)
    return values[:, 0], values[:, 1]


def _profiles(rows: Sequence[Row]) -> list[np.ndarray]:
    return [np.asarray(r.profile, dtype=np.float64) for r in rows if r.status == "ok" and r.profile is not None
            and np.asarray(r.profile).size >= ensemble.MIN_WALL_LENGTH]


def _interval(ci: tuple[float, float]) -> list[float | None]:
    return [None if not math.isfinite(v) else float(v) for v in ci]


def _classical(profiles: list[np.ndarray], min_scale_px: float, max_scale_px: float | None,
               rng: np.random.Generator, n_boot: int) -> tuple[ensemble.EnsembleFit | None, list[str]]:
    """The classical ensemble fit, or None and the reason when the walls allow none."""
    if not profiles:
        return None, ["no wall profile for the classical ensemble (no ok rows with a classical fit)"]
    try:
        window = ensemble.fit_window([p.size for p in profiles], min_scale_px, max_scale_px)
    except ValueError:
        shortest = min(p.size for p in profiles)
        return None, [f"the shortest wall ({shortest} px) leaves no fit window above {min_scale_px:g} px: "
                      "no classical ensemble fit (lower --fit-min-px or drop the short walls)"]
    fit = ensemble.ensemble_fit(profiles, window, rng=rng, n_boot=n_boot)
    if not math.isfinite(fit.fit_s.zeta):
        return None, [f"fewer than 3 points of S(q) in the fit window {window[0]:g}–{window[1]:g} px: "
                      "no classical ensemble fit"]
    return fit, []


def _disagree(a: float, ci_a: tuple[float, float], b: float, ci_b: tuple[float, float]) -> bool:
    """True when |a − b| exceeds the two 95 % half-widths added in quadrature."""
    half = [(hi - lo) / 2.0 for lo, hi in (ci_a, ci_b)]
    if not all(math.isfinite(v) for v in (a, b, *half)):
        return False
    return abs(a - b) > math.hypot(*half)


def _warnings(rows: Sequence[Row], n_walls: int, n_profiles: int, combined: ensemble.Combined | None,
              fit: ensemble.EnsembleFit | None) -> list[str]:
    """Plain-language warnings, most important first."""
    notes = []
    errors = [r for r in rows if r.status != "ok"]
    if n_walls == 0:
        notes.append("no wall could be measured: no combined ζ")
    elif n_walls < MIN_WALLS:
        notes.append(f"only {n_walls} walls: intervals from a bootstrap over fewer than {MIN_WALLS} walls are "
                     "too narrow and the spread is poorly known; average tens of walls")
    if errors:
        notes.append(f"{len(errors)} of {len(rows)} images could not be measured and were skipped "
                     "(error rows in the table)")
    warned = sum(1 for r in rows if r.status == "ok" and r.warning)
    if warned:
        measured = len(rows) - len(errors)
        notes.append(f"{warned} of {measured} walls carry a warning (column warning of the wall table): "
                     "check them before quoting their ζ")
    if combined is not None and fit is not None and _disagree(combined.zeta, combined.ci95, fit.fit_s.zeta, fit.ci95_s):
        notes.append(f"the model (ζ = {combined.zeta:.3f}) and the classical ensemble (ζ = {fit.fit_s.zeta:.3f}) "
                     "disagree beyond their combined 95 % intervals: check the fit window against blur and "
                     "noise (local-slope plot) and whether these walls resemble the training walls")
    if fit is not None:
        notes.extend(_fit_warnings(fit, n_walls, n_profiles))
    return notes


def _fit_warnings(fit: ensemble.EnsembleFit, n_walls: int, n_profiles: int) -> list[str]:
    notes = []
    cross = fit.crossover
    if cross.scale_px is not None:
        notes.append(f"crossover: the structure factor bends near {cross.scale_px:.0f} px "
                     f"(ζ ≈ {cross.zeta_small:.2f} below, {cross.zeta_large:.2f} above); one exponent does not describe the window "
                     f"{fit.window[0]:g}–{fit.window[1]:g} px: refit on one side (--fit-min-px / --fit-max-px)")
    if fit.fit_s.zeta >= SUPER_ROUGH:
        notes.append(f"classical ζ = {fit.fit_s.zeta:.2f} is near or above 1: B(r) saturates toward 1 and is a "
                     "check only; the classical value comes from S(q)")
    decades = math.log10(fit.window[1] / fit.window[0])
    if decades < MIN_WINDOW_DECADES:
        notes.append(f"the fit window {fit.window[0]:g}–{fit.window[1]:g} px spans only {decades:.2f} decades: "
                     "longer walls pin the slope down better")
    if n_profiles < n_walls:
        notes.append(f"{n_walls - n_profiles} walls have no classical profile and are left out of the classical "
                     "ensemble")
    return notes


def build_report(rows: Sequence[Row], *, model: str, min_scale_px: float = ensemble.DEFAULT_MIN_SCALE_PX,
                 max_scale_px: float | None = None, n_boot: int = N_BOOT, seed: int = SEED) -> ReportData:
    """Combine the ok rows of a prediction run into the report's summary and analyses.

    Parameters
    ----------
    rows : sequence of Row
        Output of :func:`roughml.serving.predict.predict_folder`; ok rows need ``profile`` for the
        classical ensemble (present when the classical fit ran).
    model : str
        The model URI that made the rows (recorded as ``model``).
    min_scale_px, max_scale_px : float
        The classical fit window (see :func:`roughml.physics.ensemble.fit_window`); the lower end
        belongs several blur widths above the optical point-spread function.
    n_boot, seed : int
        Bootstrap resamples of the walls, and the seed that makes the intervals reproducible.
    """
    rows = list(rows)
    rng = np.random.default_rng(seed)
    zeta, sigma = _model_walls(rows)
    combined = ensemble.combine_walls(zeta, sigma, rng=rng, n_boot=n_boot) if zeta.size else None
    profiles = _profiles(rows)
    fit, notes = _classical(profiles, min_scale_px, max_scale_px, rng, n_boot)
    systematic, total = (ensemble.with_systematic(combined.zeta, combined.ci95, [fit.fit_s.zeta] if fit else [])
                         if combined else (None, (math.nan, math.nan)))
    summary = {
        "zeta": combined.zeta if combined else None,
        "zeta_ci95": _interval(combined.ci95) if combined else [None, None],
        "zeta_systematic": systematic,
        "zeta_total_ci95": _interval(total),
        "zeta_se": combined.se if combined else None,
        "n_walls": int(zeta.size),
        "spread": combined.tau if combined else None,
        "heterogeneity": ({"tau2": combined.tau2, "i2": combined.i2, "q": combined.q,
                           "zeta_fixed_effect": combined.zeta_fixed} if combined else None),
        "zeta_classical": fit.fit_s.zeta if fit else None,
        "zeta_classical_ci95": _interval(fit.ci95_s) if fit else [None, None],
        "zeta_height_difference": fit.fit_b.zeta if fit else None,
        "zeta_height_difference_ci95": _interval(fit.ci95_b) if fit else [None, None],
        "n_walls_classical": len(profiles) if fit else 0,
        "fit_window_px": list(fit.window) if fit else [float(min_scale_px), max_scale_px],
        "crossover_px": fit.crossover.scale_px if fit else None,
        "warnings": _warnings(rows, int(zeta.size), len(profiles), combined, fit) + notes,
        "model": model,
        "n_images": len(rows),
        "n_errors": sum(1 for r in rows if r.status != "ok"),
        "bootstrap": {"resamples": int(n_boot), "seed": int(seed), "level": 0.95},
    }
    return ReportData(rows, summary, combined, fit)
