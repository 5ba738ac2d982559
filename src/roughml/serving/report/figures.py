"""The report's plots as PNG bytes: ensemble S(q) and B(r) with their fits, ζ per wall, local slopes.

Why these four: the fitted power laws over the shaded window show what the classical number rests
on; ζ per wall with the combined band shows the spread the random-effects mean accounts for; the
local slope against scale is where a crossover, blur or a noise floor shows before anyone trusts
one exponent. Matplotlib on the Agg backend (:func:`roughml.core.formats.pyplot`), no display.
"""

from __future__ import annotations

import math

import numpy as np

from roughml.core.formats import figure_png, pyplot
from roughml.physics.ensemble import Curve, PowerLawFit
from roughml.serving.report.summary import ReportData

#: Figure size (inches) and resolution of every plot.
SIZE = (6.4, 4.2)
DPI = 110
WINDOW_STYLE = {"color": "tab:green", "alpha": 0.12, "lw": 0}
MODEL_COLOUR, CLASSICAL_COLOUR = "tab:blue", "tab:orange"


def _no_data(plt, message: str) -> bytes:
    fig, ax = plt.subplots(figsize=SIZE)
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return figure_png(fig, DPI)


def _curve_png(curve: Curve, fit: PowerLawFit, ci: tuple[float, float], title: str) -> bytes:
    """One ensemble curve (S against q, or B against r) with its power law over the shaded window."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=SIZE, layout="constrained")
    is_s = curve.kind == "S"
    x = 2.0 * np.pi / curve.scale if is_s else curve.scale
    ax.loglog(x, curve.value, "o", ms=3.5, color="0.25", label="ensemble average")
    lo, hi = fit.window
    span = (2.0 * np.pi / hi, 2.0 * np.pi / lo) if is_s else (lo, hi)
    ax.axvspan(*span, **WINDOW_STYLE, label=f"fit window {lo:g}–{hi:g} px")
    if math.isfinite(fit.zeta):
        scales = np.geomspace(lo, hi, 50)
        band = "" if not all(map(math.isfinite, ci)) else f" [{ci[0]:.3f}, {ci[1]:.3f}]"
        ax.loglog(2.0 * np.pi / scales if is_s else scales, fit.predict(scales), "-", color=CLASSICAL_COLOUR,
                  lw=2, label=f"power law: ζ = {fit.zeta:.3f}{band}")
    if is_s:
        ax.set_xlabel("q (rad/px)")
        ax.set_ylabel("S(q) (walls scaled to unit rms step)")
        top = ax.secondary_xaxis("top", functions=(lambda q: 2 * np.pi / np.maximum(q, 1e-12),
                                                   lambda s: 2 * np.pi / np.maximum(s, 1e-12)))
        top.set_xlabel("scale 2π/q (px)")
    else:
        ax.set_xlabel("r (px)")
        ax.set_ylabel("B(r) (walls scaled to unit rms step)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return figure_png(fig, DPI)


def structure_factor_png(data: ReportData) -> bytes:
    """Ensemble S(q) ∝ q^-(1+2ζ) with the fitted power law and the window shaded."""
    if data.classical is None:
        return _no_data(pyplot(), "no classical ensemble fit")
    fit = data.classical
    return _curve_png(fit.structure_factor, fit.fit_s, fit.ci95_s,
                      f"structure factor, {fit.n_walls} walls")


def height_difference_png(data: ReportData) -> bytes:
    """Ensemble B(r) ∝ r^{2ζ} with the fitted power law and the window shaded."""
    if data.classical is None:
        return _no_data(pyplot(), "no classical ensemble fit")
    fit = data.classical
    return _curve_png(fit.height_difference, fit.fit_b, fit.ci95_b,
                      f"height-difference correlation, {fit.n_walls} walls")


def _band(ax, value, ci, colour, label) -> None:
    if value is None or not math.isfinite(value):
        return
    ax.axhline(value, color=colour, lw=1.5, label=label)
    if ci[0] is not None and ci[1] is not None:
        ax.axhspan(ci[0], ci[1], color=colour, alpha=0.15, lw=0)


def walls_png(data: ReportData) -> bytes:
    """ζ ± σ of every ok wall (model), classical ζ per wall, and both ensemble values with bands.

    Walls are numbered as in the report's table (its # column), error rows keep their numbers.
    """
    plt = pyplot()
    ok = [(i + 1, r) for i, r in enumerate(data.rows) if r.status == "ok" and r.zeta is not None]
    if not ok:
        return _no_data(plt, "no wall measured")
    fig, ax = plt.subplots(figsize=(max(SIZE[0], min(14.0, 0.12 * len(ok) + 3)), SIZE[1]), layout="constrained")
    number = np.array([i for i, _ in ok])
    ax.errorbar(number, [r.zeta for _, r in ok], yerr=[r.zeta_std or 0.0 for _, r in ok], fmt="o", ms=4,
                color=MODEL_COLOUR, capsize=2, label="model ζ ± σ per wall")
    classical = [(i, r.zeta_classical) for i, r in ok if r.zeta_classical is not None]
    if classical:
        ax.plot(*zip(*classical), "x", color=CLASSICAL_COLOUR, ms=5, label="classical ζ per wall (Whittle)")
    summary = data.summary
    _band(ax, summary["zeta"], summary["zeta_ci95"], MODEL_COLOUR,
          f"combined (random effects), τ = {summary['spread']:.3f}" if summary["spread"] is not None else "combined")
    _band(ax, summary["zeta_classical"], summary["zeta_classical_ci95"], CLASSICAL_COLOUR, "classical ensemble S(q)")
    ax.set_xlabel("wall # (as in the table)")
    ax.set_ylabel("ζ")
    ax.set_title("ζ per wall and the ensemble values (bands: 95 % intervals)")
    ax.legend(fontsize=8, loc="best")
    return figure_png(fig, DPI)


def local_slope_png(data: ReportData) -> bytes:
    """ζ_eff against scale from S(q) and B(r), the window shaded, the crossover marked."""
    plt = pyplot()
    if data.classical is None:
        return _no_data(plt, "no classical ensemble fit")
    fit = data.classical
    fig, ax = plt.subplots(figsize=SIZE, layout="constrained")
    ax.semilogx(*fit.local_s, "-o", ms=3, color=CLASSICAL_COLOUR, label="from S(q)")
    ax.semilogx(*fit.local_b, "-s", ms=3, color="tab:purple", label="from B(r) (saturates near 1)")
    ax.axvspan(*fit.window, **WINDOW_STYLE, label="fit window")
    if data.summary["zeta"] is not None:
        ax.axhline(data.summary["zeta"], color=MODEL_COLOUR, lw=1.2, ls="--", label="model, combined")
    if fit.crossover.scale_px is not None:
        ax.axvline(fit.crossover.scale_px, color="tab:red", lw=1.2,
                   label=f"crossover ≈ {fit.crossover.scale_px:.0f} px")
    values = np.concatenate([fit.local_s[1], fit.local_b[1]])
    values = values[np.isfinite(values)]
    if values.size:
        ax.set_ylim(max(-0.2, values.min() - 0.1), min(2.2, values.max() + 0.1))
    ax.set_xlabel("scale (px): 2π/q for S, r for B")
    ax.set_ylabel("local ζ_eff")
    ax.set_title("local slope: flat for one regime, a bend at a crossover")
    ax.legend(fontsize=8)
    return figure_png(fig, DPI)


#: The report's figures: file stem, caption, maker.
FIGURES = (
    ("structure_factor", "Ensemble structure factor S(q) with the fitted power law (window shaded)",
     structure_factor_png),
    ("height_difference", "Ensemble height-difference correlation B(r) with the fitted power law",
     height_difference_png),
    ("walls", "ζ per wall with error bars, and the combined values", walls_png),
    ("local_slope", "Local slope ζ_eff against scale", local_slope_png),
)
