"""The seed-spread benchmark trains the params.yaml recipe once per seed and reports the spread."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from roughml.core.config import generate_params
from roughml.data.datasets import write_splits
from tests.tiny import tiny_params, write_params

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("seeds")
    params = tiny_params(epochs=1)
    write_splits(generate_params(params), root / "data")
    write_params(root / "params.yaml", params)
    return root


def _spread(root: Path, *seeds: int) -> dict:
    out = root / f"spread_{'_'.join(map(str, seeds))}"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_seed_spread.py"), "--params",
                    str(root / "params.yaml"), "--data", str(root / "data"), "--seeds", *map(str, seeds),
                    "--out", str(out)], check=True, capture_output=True, text=True, timeout=600)
    assert out.with_suffix(".md").read_text().startswith("# Seed-to-seed spread")
    return json.loads(out.with_suffix(".json").read_text())


def test_one_run_per_seed_and_the_spread_between_them(tiny_project):
    report = _spread(tiny_project, 1, 2)
    assert list(report["runs"]) == ["1", "2"]
    families = set(tiny_params()["generate"]["splits"]["test"])
    rms = {seed: run["scores"]["all"]["rms"] for seed, run in report["runs"].items()}
    summary = report["summary"]["all"]
    assert summary["min"] == min(rms.values()) and summary["max"] == max(rms.values())
    assert summary["sd"] > 0.0                      # two seeds, two different models
    assert set(report["runs"]["1"]["scores"]) == families | {"all"}
    # the same seed trains the same model: the spread is the seed's, not noise of the run
    again = _spread(tiny_project, 1)
    assert again["runs"]["1"]["scores"]["all"]["rms"] == pytest.approx(rms["1"], abs=1e-6)
