"""The validate stage: load the splits, build the frames, run every suite, write JSON and data docs.

Why the outputs are always written: a failed run is exactly when a person needs the summary and
the data docs, so both are written before the stage raises.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from roughml.core.config import SPLITS, GenerateParams, ValidateParams
from roughml.core.errors import DataValidationError
from roughml.core.storage import atomic_write_text
from roughml.data.datasets import read_split
from roughml.data.validation.context import SITE_NAME, ephemeral_context, gx_modules, quiet, replace_dir
from roughml.data.validation.frames import RenderFn, counts_frame, coverage_frame, dataset_frame
from roughml.data.validation.outcomes import ExpectationOutcome, json_plain, outcome
from roughml.data.validation.suites import (all_splits_suite, clean_images_suite, counts_suite, coverage_suite,
                                            lab_images_suite, sample_suite)

#: Columns that name an offending sample in a failure message.
_SAMPLE_IDS = ("split_family", "profile_hash")


@dataclass
class ValidationReport:
    """What the validate stage found (also written as JSON)."""

    success: bool
    counts: dict[str, Any]
    results: list[ExpectationOutcome] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    docs_index: str = ""   # relative to the JSON's folder: the file must not depend on the checkout's path

    def to_json(self) -> str:
        """Strict JSON (no NaN), indented, with a final newline."""
        payload = {"success": self.success, "counts": self.counts, "failures": self.failures,
                   "docs_index": self.docs_index, "results": [asdict(r) for r in self.results]}
        return json.dumps(json_plain(payload), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


@dataclass(frozen=True)
class _Check:
    """One frame and the suite it is validated against."""

    name: str                       # data source and asset name in the context
    frame: pd.DataFrame
    suite: Callable[[], Any]        # builds the suite; called only once the context exists
    label: str                      # first words of every message line
    id_columns: tuple[str, ...]     # name the offending rows in messages


def load_datasets(data_dir: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """Load the three split files, raising DataValidationError naming a missing one.

    The columns are not checked here: a broken column is a failed expectation, not a refusal.
    """
    data_dir = Path(data_dir)
    return {split: read_split(data_dir / f"{split}.npz", DataValidationError) for split in SPLITS}


def _checks(frames: Mapping[str, pd.DataFrame], gp: GenerateParams, vp: ValidateParams) -> list[_Check]:
    """Every (frame, suite) pair of the stage, in the order they run and appear in the report."""
    every = pd.concat([frames[split] for split in SPLITS], ignore_index=True)
    clean_images = every[every["rendered"] & ~every["lab"]].reset_index(drop=True)
    lab_images = every[every["rendered"] & every["lab"]].reset_index(drop=True)
    checks = [_Check(f"samples_{split}", frames[split], partial(sample_suite, split, gp, vp), split, _SAMPLE_IDS)
              for split in SPLITS]
    return checks + [
        _Check("images_clean", clean_images, clean_images_suite, "clean images", _SAMPLE_IDS),
        _Check("images_lab", lab_images, lab_images_suite, "lab images", _SAMPLE_IDS),
        _Check("counts", counts_frame(frames, gp), partial(counts_suite, gp), "counts", ("split_family",)),
        _Check("zeta_coverage", coverage_frame(frames, gp, vp), partial(coverage_suite, gp, vp), "zeta coverage",
               ("split_family_bin",)),
        _Check("all_splits", every, partial(all_splits_suite, gp), "all splits", ("split_family",)),
    ]


def _run_check(context, check: _Check) -> list[ExpectationOutcome]:
    """Validate one frame against its suite; results go to the context's in-memory store."""
    gx, _ = gx_modules()
    source = context.data_sources.add_pandas(name=f"{check.name}_source")
    asset = source.add_dataframe_asset(name=check.name)
    batch = asset.add_batch_definition_whole_dataframe(f"{check.name}_whole")
    suite = context.suites.add(check.suite())
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=f"{check.name}_check",
                                                                            data=batch, suite=suite))
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": 5,
                     "unexpected_index_column_names": list(check.id_columns)}
    result = definition.run(batch_parameters={"dataframe": check.frame}, result_format=result_format)
    return [outcome(suite.name, check.label, r) for r in result.results]


def _run_and_publish(checks: list[_Check], docs_dir: Path) -> list[ExpectationOutcome]:
    """Run every check in one ephemeral context and publish its data docs as ``docs_dir``.

    The site is built in a temporary sibling folder and swapped in whole; the temporary folder
    is removed whatever happens.
    """
    docs_dir.parent.mkdir(parents=True, exist_ok=True)
    build_dir = Path(tempfile.mkdtemp(prefix=f".{docs_dir.name}.", dir=docs_dir.parent))
    outcomes: list[ExpectationOutcome] = []
    try:
        with quiet():
            context = ephemeral_context(build_dir)
            for check in checks:
                outcomes += _run_check(context, check)
            context.build_data_docs(site_names=[SITE_NAME])
        replace_dir(build_dir, docs_dir)
    finally:
        if build_dir.exists():
            shutil.rmtree(build_dir, ignore_errors=True)
    return outcomes


def _summary_counts(frames: Mapping[str, pd.DataFrame], outcomes: list[ExpectationOutcome],
                    failures: list[str]) -> dict[str, Any]:
    """Rows and rendered rows per split, expectations run and failed."""
    return {
        "rows": {split: int(len(frames[split])) for split in SPLITS},
        "rendered": {split: int(frames[split]["rendered"].sum()) for split in SPLITS},
        "expectations": len(outcomes),
        "failed": len(failures),
    }


def validate_datasets(data_dir: str | Path, gp: GenerateParams, vp: ValidateParams, out_json: str | Path,
                      docs_dir: str | Path, *, seed: int = 0, render: RenderFn | None = None) -> ValidationReport:
    """Validate the generated splits, write the JSON summary and the data docs, raise on failure.

    Parameters
    ----------
    data_dir
        Folder holding ``train.npz``, ``validation.npz``, ``test.npz``.
    gp, vp
        The ``generate`` params (what the data should be) and the ``validate`` params (tolerances).
    out_json
        JSON summary (written atomically, also when expectations fail).
    docs_dir
        Static HTML data docs (``index.html`` inside); replaced as a whole on every run.
    seed, render
        Seed of the rendered row sample; renderer override (defaults to ``roughml.data.datasets``).

    Raises
    ------
    DataValidationError
        After writing both outputs, when any expectation failed; the message lists one failure
        per line.
    """
    out_json = Path(out_json).resolve()
    docs_dir = Path(docs_dir).resolve()  # the data-docs store needs an absolute base directory
    arrays = load_datasets(data_dir)
    frames = {split: dataset_frame(arrays[split], vp.sample_images, seed=seed, render=render)
              for split in SPLITS}
    outcomes = _run_and_publish(_checks(frames, gp, vp), docs_dir)
    failures = [o.message for o in outcomes if not o.success]
    report = ValidationReport(success=not failures, counts=_summary_counts(frames, outcomes, failures),
                              results=outcomes, failures=failures,
                              docs_index=os.path.relpath(docs_dir / "index.html", out_json.parent))
    atomic_write_text(out_json, report.to_json())
    if failures:
        raise DataValidationError(f"{len(failures)} dataset expectation(s) failed:\n" + "\n".join(failures))
    return report
