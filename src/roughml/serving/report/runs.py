"""Log a report as an MLflow run: the report folder, the per-wall table, the ensemble numbers.

Why: predictions made for a paper or a lab notebook need to be traceable to the model version that
made them months later. Each ``roughml predict --track`` run lands in the experiment
:data:`EXPERIMENT`, tagged with the model URI (and registered name and version when the URI names
them), with the summary numbers as metrics and the report folder as artifacts.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from roughml.core.errors import TrackingError
from roughml.serving.report.summary import ReportData
from roughml.serving.rows import rows_as_dicts

#: The MLflow experiment of prediction runs.
EXPERIMENT = "roughml-predictions"
_REGISTERED = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>\d+)$")
_METRICS = ("zeta", "zeta_se", "spread", "zeta_classical", "zeta_height_difference", "n_walls",
            "n_walls_classical", "n_images", "n_errors")


def model_tags(model_uri: str) -> dict[str, str]:
    """Tags naming the model: its URI, and name and version for ``models:/<name>/<version>``."""
    tags = {"roughml.model_uri": model_uri}
    match = _REGISTERED.match(model_uri.strip())
    if match:
        tags["roughml.model_name"] = match["name"]
        tags["roughml.model_version"] = match["version"]
    return tags


def _metrics(summary: dict) -> dict[str, float]:
    metrics = {key: summary[key] for key in _METRICS if isinstance(summary.get(key), (int, float))}
    for key in ("zeta_ci95", "zeta_classical_ci95"):
        for end, value in zip(("low", "high"), summary.get(key) or ()):
            if value is not None:
                metrics[f"{key}_{end}"] = value
    if summary.get("crossover_px") is not None:
        metrics["crossover_px"] = summary["crossover_px"]
    return {key: float(value) for key, value in metrics.items() if math.isfinite(float(value))}


def track_report(data: ReportData, folder: str | os.PathLike, *, source: str | os.PathLike,
                 run_name: str | None = None) -> str:
    """Log the report in ``folder`` as a new run of :data:`EXPERIMENT`; return the run id.

    MLflow must already point at the store (:func:`roughml.serving.tracking.configure`).

    Raises
    ------
    TrackingError
        When the run cannot be created or its artifacts cannot be uploaded.
    """
    import mlflow
    import pandas as pd
    from mlflow.exceptions import MlflowException

    from roughml.serving.tracking import ensure_experiment, first_line

    summary = data.summary
    window = summary["fit_window_px"]
    params = {"source": str(source), "fit_min_px": window[0], "fit_max_px": window[1],
              "bootstrap_resamples": summary["bootstrap"]["resamples"], "model_uri": summary["model"]}
    try:
        experiment = ensure_experiment(EXPERIMENT)
        with mlflow.start_run(experiment_id=experiment, run_name=run_name or f"predict {Path(source).name}") as run:
            mlflow.set_tags({**model_tags(summary["model"]), "roughml.kind": "prediction report"})
            mlflow.log_params(params)
            mlflow.log_metrics(_metrics(summary))
            mlflow.log_artifacts(str(folder), artifact_path="report")
            mlflow.log_table(pd.DataFrame(rows_as_dicts(data.rows)), artifact_file="walls.json")
            return run.info.run_id
    except (MlflowException, OSError) as exc:
        raise TrackingError(f"cannot log the report to MLflow experiment {EXPERIMENT!r}: {first_line(exc)}") from None
