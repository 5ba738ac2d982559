"""The ``register`` stage: put the evaluated model into the MLflow registry.

Why a separate stage: promotion is a decision (champion/challenger on the test rms), and the
decision, with both numbers, must be visible on the run, the model version and in DVC's outputs.
Both numbers must also come from the same test split: when the split changed since the champion
was measured (another ``generate`` block, more test images), the champion's registered model is
evaluated on the current split here, exactly as the evaluate stage measured the challenger.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from roughml.core.config import RegisterParams
from roughml.core.errors import RoughmlError
from roughml.core.storage import atomic_write_text

if TYPE_CHECKING:
    from roughml.serving.registry import Decision


def _read_json(path: Path, what: str) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise RoughmlError(f"{path}: missing or unreadable; run the {what} stage first") from None


def scorer_on_split(data_dir: str | Path, report_range: tuple[float, float]) -> Callable[[str], float]:
    """``score(model_uri) -> rms``: a registered roughml model's headline test rms on ``data_dir``.

    The same numbers as the evaluate stage's ``test_rms`` (:func:`roughml.pipeline.evaluate.predict_family`
    per family, ζ inside ``report_range``), computed with the Keras model inside the pyfunc.
    """
    def score(model_uri: str) -> float:
        import mlflow.pyfunc
        import numpy as np

        from roughml.core.config import EvaluateParams
        from roughml.data.datasets import load_split
        from roughml.pipeline.evaluate import evaluation_metrics, predict_family
        from roughml.serving.pyfunc import unwrap

        keras_model = unwrap(mlflow.pyfunc.load_model(model_uri)).keras_model
        test = load_split(Path(data_dir) / "test.npz")
        families = list(dict.fromkeys(str(f) for f in test["family"]))
        preds = [predict_family(keras_model, test, np.flatnonzero(test["family"] == fam), fam) for fam in families]
        return float(evaluation_metrics(preds, EvaluateParams(report_range=tuple(report_range)))["test_rms"])

    return score


def run_registration(rp: RegisterParams, model_dir: str | Path = "models", reports_dir: str | Path = "reports",
                     *, tracking_uri: str | None = None, data_dir: str | Path = "data/generated") -> Decision:
    """Register the model logged by the train run; write ``reports/registration.json``.

    The challenger's rms is ``reports/metrics.json``'s; the champion's is its recorded one when
    that was measured on the same test split (md5 of ``data_dir/test.npz``), else it is measured
    now on that split (:func:`scorer_on_split`). The decision record (version, promoted, both
    rms values, whether the champion was re-evaluated, reason) goes next to the metrics so that
    DVC tracks it with them.
    """
    from roughml.core.config import EvaluateParams
    from roughml.core.fingerprint import md5_file
    from roughml.serving import tracking
    from roughml.serving.registry import register_and_promote

    model_dir, reports_dir, data_dir = Path(model_dir), Path(reports_dir), Path(data_dir)
    run = _read_json(model_dir / "run.json", "train")
    metrics = _read_json(reports_dir / "metrics.json", "evaluate")
    test_rms = metrics.get("test_rms")
    if not isinstance(test_rms, (int, float)):
        raise RoughmlError(f"{reports_dir / 'metrics.json'}: no test_rms; run the evaluate stage first")
    test_file = data_dir / "test.npz"
    if not test_file.is_file():
        raise RoughmlError(f"{test_file}: missing; run the generate stage first (the champion is "
                           f"compared with the challenger on this split)")
    tracking.configure(tracking_uri)
    # The logged model itself (models:/m-...); runs:/ for a run.json written before model_uri was kept.
    source = run.get("model_uri") or f"runs:/{run['run_id']}/model"
    scorer = scorer_on_split(data_dir, tuple(metrics.get("report_range") or EvaluateParams().report_range))
    decision = register_and_promote(run["run_id"], rp.model_name, source, float(test_rms),
                                    test_split_digest=md5_file(test_file), score_champion=scorer)
    record = {**asdict(decision), "model_name": rp.model_name}
    atomic_write_text(reports_dir / "registration.json", json.dumps(record, indent=2) + "\n")
    return decision
