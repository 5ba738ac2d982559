"""The ``register`` stage: put the evaluated model into the MLflow registry.

Why a separate stage: promotion is a decision (champion/challenger on the test rms), and the
decision, with both numbers, must be visible on the run, the model version and in DVC's outputs.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

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


def run_registration(rp: RegisterParams, model_dir: str | Path = "models", reports_dir: str | Path = "reports",
                     *, tracking_uri: str | None = None) -> Decision:
    """Register the model logged by the train run; write ``reports/registration.json``.

    The decision record (version, promoted, both rms values, reason) goes next to the metrics so
    that DVC tracks it with them.
    """
    from roughml.serving import tracking
    from roughml.serving.registry import register_and_promote

    model_dir, reports_dir = Path(model_dir), Path(reports_dir)
    run = _read_json(model_dir / "run.json", "train")
    metrics = _read_json(reports_dir / "metrics.json", "evaluate")
    test_rms = metrics.get("test_rms")
    if not isinstance(test_rms, (int, float)):
        raise RoughmlError(f"{reports_dir / 'metrics.json'}: no test_rms; run the evaluate stage first")
    tracking.configure(tracking_uri)
    # The logged model itself (models:/m-...); runs:/ for a run.json written before model_uri was kept.
    source = run.get("model_uri") or f"runs:/{run['run_id']}/model"
    decision = register_and_promote(run["run_id"], rp.model_name, source, float(test_rms))
    record = {**asdict(decision), "model_name": rp.model_name}
    atomic_write_text(reports_dir / "registration.json", json.dumps(record, indent=2) + "\n")
    return decision
