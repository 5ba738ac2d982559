"""The ``evaluate`` stage: the model against the classical fit and the Cramér–Rao bound.

Why: a learned estimator is only worth shipping if, on fresh interfaces it never saw, it beats the
physicist's Whittle fit on the *same images*, family by family and ζ bin by ζ bin, and its
uncertainty is calibrated. Geometry is detected from the images exactly as ``roughml predict``
does, so these numbers are end-to-end.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from roughml.core.config import EvaluateParams, evaluate_params
from roughml.core.errors import RoughmlError
from roughml.core.formats import csv_text, figure_png, json_ready, pyplot
from roughml.core.storage import atomic_write_bytes, atomic_write_text


@dataclass
class FamilyPredictions:
    family: str
    zeta: np.ndarray            # truth, rows where the model produced an estimate
    length: np.ndarray
    predicted: np.ndarray
    predicted_std: np.ndarray
    classical: np.ndarray       # NaN where the classical pipeline failed
    failed: int                 # rows where no wall was found (model and classical both skipped)
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # dataset rows of the above


def _rms(err: np.ndarray) -> float:
    err = err[np.isfinite(err)]
    return float(np.sqrt(np.mean(err ** 2))) if err.size else float("nan")


def predict_family(model, ds: Mapping[str, np.ndarray], rows: np.ndarray, family: str,
                   batch_size: int = 64) -> FamilyPredictions:
    """Render the rows, detect geometry, and run both the model and the classical estimator."""
    from roughml.imaging.classical import estimate_image
    from roughml.imaging.detection import Orientation
    from roughml.data.model_inputs import prepare_rows
    from roughml.learning.model import predict_zeta

    classical: dict[int, float] = {}

    def classical_fit(row: int, image: np.ndarray, prepared) -> None:
        geometry = Orientation(orientation=prepared.orientation, bright_side=prepared.bright_side)
        try:
            classical[row] = float(estimate_image(image.astype(np.float32) / 255.0, geometry).zeta)
        except RoughmlError:
            classical[row] = float("nan")

    split = prepare_rows(ds, rows, known_geometry=False, on_prepared=classical_fit)
    failed = len(split.failures)
    kept, mu_all, sd_all = [], [], []
    for bucket in split.buckets.values():
        mu, sd = predict_zeta(model, bucket.as_float(), batch_size=batch_size)
        kept.extend(int(r) for r in bucket.rows)
        mu_all.append(mu)
        sd_all.append(sd)
    kept_arr = np.array(kept, dtype=np.int64)
    order = np.argsort(kept_arr)
    kept_arr = kept_arr[order]
    return FamilyPredictions(
        family=family,
        zeta=ds["zeta"][kept_arr].astype(np.float64),
        length=ds["length"][kept_arr].astype(np.int64),
        predicted=np.concatenate(mu_all)[order] if mu_all else np.zeros(0),
        predicted_std=np.concatenate(sd_all)[order] if sd_all else np.zeros(0),
        classical=np.array([classical[r] for r in kept_arr], dtype=np.float64),
        failed=failed,
        rows=kept_arr,
    )


def family_metrics(p: FamilyPredictions, ep: EvaluateParams) -> dict[str, Any]:
    """Accuracy summary of one family (headline numbers use ζ inside ``ep.report_range``)."""
    from roughml.physics.spectral import cramer_rao_bound

    lo, hi = ep.report_range
    inside = (p.zeta >= lo) & (p.zeta <= hi)
    err = p.predicted - p.zeta
    cerr = p.classical - p.zeta
    crb = np.array([cramer_rao_bound(int(n)) for n in p.length]) if p.length.size else np.zeros(0)
    rms = _rms(err[inside])
    classical_rms = _rms(cerr[inside])
    metrics: dict[str, Any] = {
        "n": int(p.zeta.size),
        "failed": int(p.failed),
        "rms": rms,
        "bias": float(np.mean(err[inside])) if inside.any() else float("nan"),
        "accuracy": float(np.mean(np.abs(err[inside]) < ep.accuracy_tolerance)) if inside.any() else float("nan"),
        "within_1sigma": float(np.mean(np.abs(err) < p.predicted_std)) if err.size else float("nan"),
        "within_2sigma": float(np.mean(np.abs(err) < 2 * p.predicted_std)) if err.size else float("nan"),
        "rms_full_range": _rms(err),
        "classical_rms": classical_rms,
        "classical_bias": float(np.nanmean(cerr[inside])) if np.isfinite(cerr[inside]).any() else float("nan"),
        "classical_failed": int(np.sum(~np.isfinite(p.classical))),
        "crb": float(np.sqrt(np.mean(crb[inside] ** 2))) if inside.any() else float("nan"),
        "gain_vs_classical": (1.0 - rms / classical_rms) if classical_rms and math.isfinite(classical_rms) else float("nan"),
    }
    bins = np.asarray(ep.zeta_bins)
    per_bin = []
    for a, b in zip(bins[:-1], bins[1:]):
        sel = (p.zeta >= a) & (p.zeta < b)
        per_bin.append({"zeta_low": float(a), "zeta_high": float(b), "n": int(sel.sum()),
                        "rms": _rms(err[sel]), "classical_rms": _rms(cerr[sel]),
                        "crb": float(np.sqrt(np.mean(crb[sel] ** 2))) if sel.any() else float("nan")})
    metrics["per_bin"] = per_bin
    return metrics


def accuracy_table(metrics: Mapping[str, Any]) -> str:
    """Markdown table: model vs Whittle vs bound, per family."""
    lines = ["| family | n | model rms | Whittle rms | Cramér–Rao bound | gain vs Whittle | accuracy ±0.025 | within 1σ / 2σ |",
             "|---|---|---|---|---|---|---|---|"]
    for family, m in metrics["families"].items():
        def f(x, spec=".3f"):
            return "–" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)
        lines.append(f"| {family} | {m['n']} | {f(m['rms'])} | {f(m['classical_rms'])} | {f(m['crb'])} | "
                     f"{f(m['gain_vs_classical'], '.0%')} | {f(m['accuracy'], '.0%')} | "
                     f"{f(m['within_1sigma'], '.0%')} / {f(m['within_2sigma'], '.0%')} |")
    return "\n".join(lines) + "\n"


def run_evaluation(all_params: Mapping[str, Any], model_dir: str | Path = "models",
                   data_dir: str | Path = "data/generated", out_dir: str | Path = "reports",
                   *, tracking_uri: str | None = None) -> dict[str, Any]:
    """Evaluate ``model_dir/model.keras`` on the test split; write reports and log them to the run.

    Returns the metrics as written to ``out_dir/metrics.json`` (strict JSON: NaN is None).
    """
    ep = evaluate_params(all_params)
    model_dir, data_dir, out_dir = Path(model_dir), Path(data_dir), Path(out_dir)
    run_info = _read_run_info(model_dir / "run.json")

    from roughml.data.datasets import load_split
    from roughml.learning import model as model_lib
    from roughml.serving import tracking

    tracking.configure(tracking_uri)
    model = model_lib.load(model_dir / "model.keras")
    test = load_split(data_dir / "test.npz")
    families = list(dict.fromkeys(str(f) for f in test["family"]))
    preds = [predict_family(model, test, np.flatnonzero(test["family"] == fam), fam) for fam in families]
    metrics = json_ready(evaluation_metrics(preds, ep))
    _write_reports(metrics, preds, out_dir)
    _log_to_run(run_info, metrics, out_dir, data_dir)
    return metrics


def _read_run_info(run_file: Path) -> dict[str, Any]:
    """The train stage's ``run.json`` (which MLflow run the model came from)."""
    try:
        return json.loads(run_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise RoughmlError(f"{run_file}: missing or unreadable; run the train stage first") from None


def evaluation_metrics(preds: list[FamilyPredictions], ep: EvaluateParams) -> dict[str, Any]:
    """Per-family metrics and the headline numbers over all test families (ζ in ``ep.report_range``)."""
    metrics: dict[str, Any] = {"families": {p.family: family_metrics(p, ep) for p in preds}}
    lo, hi = ep.report_range
    all_err = np.concatenate([p.predicted - p.zeta for p in preds])
    all_zeta = np.concatenate([p.zeta for p in preds])
    inside = (all_zeta >= lo) & (all_zeta <= hi)
    all_cerr = np.concatenate([p.classical - p.zeta for p in preds])
    metrics["test_rms"] = _rms(all_err[inside])
    metrics["test_classical_rms"] = _rms(all_cerr[inside])
    metrics["test_accuracy"] = float(np.mean(np.abs(all_err[inside]) < ep.accuracy_tolerance))
    metrics["report_range"] = list(ep.report_range)
    return metrics


def _write_reports(metrics: Mapping[str, Any], preds: list[FamilyPredictions], out_dir: Path) -> None:
    """metrics.json, accuracy.md, and under ``plots/`` the predictions and per-bin errors (CSV, PNG)."""
    plots_dir = out_dir / "plots"
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    atomic_write_text(out_dir / "accuracy.md", accuracy_table(metrics))
    atomic_write_text(plots_dir / "predictions.csv", csv_text([
        {"family": p.family, "zeta": round(float(z), 5), "predicted": round(float(m), 5),
         "predicted_std": round(float(s), 5), "classical": round(float(c), 5), "length": int(n)}
        for p in preds for z, m, s, c, n in zip(p.zeta, p.predicted, p.predicted_std, p.classical, p.length)]))
    atomic_write_text(plots_dir / "rms_per_bin.csv", csv_text([
        {"family": fam, "zeta": round((b["zeta_low"] + b["zeta_high"]) / 2, 3), "model": b["rms"],
         "whittle": b["classical_rms"], "bound": b["crb"]}
        for fam, m in metrics["families"].items() for b in m["per_bin"]]))
    atomic_write_bytes(plots_dir / "predicted_vs_true.png", _predicted_vs_true_png(preds))
    atomic_write_bytes(plots_dir / "rms_per_bin.png", _rms_per_bin_png(preds, metrics))


def _log_to_run(run_info: Mapping[str, Any], metrics: Mapping[str, Any], out_dir: Path, data_dir: Path) -> None:
    """Add the finite headline and per-family numbers and the reports to the training run.

    The numbers are linked to the test split (an input of the run, context ``testing``) and to the
    logged model they measure (``run.json``'s ``model_id``; absent for runs trained before it was
    recorded).
    """
    import mlflow

    from roughml.pipeline.lineage import log_splits

    flat = {"test_rms": metrics["test_rms"], "test_classical_rms": metrics["test_classical_rms"],
            "test_accuracy": metrics["test_accuracy"]}
    for fam, m in metrics["families"].items():
        for key, value in m.items():
            if key != "per_bin" and isinstance(value, (int, float)) and value is not None:
                flat[f"test.{fam}.{key}"] = float(value)
    with mlflow.start_run(run_id=run_info["run_id"]):
        test = log_splits(data_dir, ("test",))["test"]
        mlflow.log_metrics({k: v for k, v in flat.items() if v is not None and math.isfinite(v)},
                           dataset=test, model_id=run_info.get("model_id"))
        mlflow.log_artifact(str(out_dir / "metrics.json"), artifact_path="evaluation")
        mlflow.log_artifact(str(out_dir / "accuracy.md"), artifact_path="evaluation")
        mlflow.log_artifacts(str(out_dir / "plots"), artifact_path="evaluation/plots")


def _predicted_vs_true_png(preds: list[FamilyPredictions]) -> bytes:
    """One panel per family: model and Whittle estimates against the true ζ."""
    plt = pyplot()
    n = len(preds)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.2), squeeze=False)
    for ax, p in zip(axes[0], preds):
        ax.plot(p.zeta, p.classical, ".", ms=2, alpha=0.4, color="tab:gray", label="Whittle")
        ax.plot(p.zeta, p.predicted, ".", ms=2, alpha=0.6, color="tab:blue", label="model")
        ax.plot([0, 1.3], [0, 1.3], "k-", lw=0.8)
        ax.set_xlim(0, 1.3)
        ax.set_ylim(0, 1.5)
        ax.set_title(p.family, fontsize=9)
        ax.set_xlabel("true ζ")
    axes[0][0].set_ylabel("estimated ζ")
    axes[0][0].legend(fontsize=7, markerscale=4)
    fig.tight_layout()
    return figure_png(fig, dpi=90)


def _rms_per_bin_png(preds: list[FamilyPredictions], metrics: Mapping[str, Any]) -> bytes:
    """One panel per family: rms error per ζ bin of the model, Whittle and the Cramér–Rao bound."""
    plt = pyplot()
    n = len(preds)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.2), squeeze=False, sharey=True)
    for ax, p in zip(axes[0], preds):
        bins = metrics["families"][p.family]["per_bin"]
        centres = [(b["zeta_low"] + b["zeta_high"]) / 2 for b in bins]
        for key, label, style in (("rms", "model", "o-"), ("classical_rms", "Whittle", "s--"),
                                  ("crb", "Cramér–Rao bound", "k:")):
            ax.plot(centres, [b[key] if b[key] is not None else np.nan for b in bins], style, ms=3, label=label)
        ax.set_title(p.family, fontsize=9)
        ax.set_xlabel("true ζ")
        ax.set_yscale("log")
    axes[0][0].set_ylabel("rms error of ζ")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return figure_png(fig, dpi=90)
