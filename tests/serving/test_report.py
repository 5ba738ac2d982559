"""The ensemble report of ``roughml predict --report``: its numbers and warnings on synthetic walls of
known ζ, the files it writes, the page in a real headless browser, its MLflow run, the profiles the
per-image work carries to it, and the command line end to end."""

from __future__ import annotations

import csv
import json
import math
import os
import pickle
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from roughml.physics.synthesis import self_affine_profiles
from roughml.serving import report
from roughml.serving.rows import COLUMNS, PROFILE_KEY, Row, record_row, rows_as_dicts
from tests.physics.test_ensemble import crossover_walls

SUMMARY_KEYS = {"zeta", "zeta_ci95", "zeta_systematic", "zeta_total_ci95", "n_walls", "spread", "zeta_classical",
                "zeta_classical_ci95", "fit_window_px", "crossover_px", "warnings", "model"}
MODEL = "models:/roughml/7"


def synthetic_rows(rng: np.random.Generator, zeta: float, n: int, *, length: int = 512, bias: float = 0.0,
                   errors: int = 0, profiles: list[np.ndarray] | None = None) -> list[Row]:
    """Rows as ``predict`` makes them: model ζ_i = ζ + bias + N(0, σ_i), the wall profile on each ok
    row, and ``errors`` error rows."""
    if profiles is None:
        profiles = list(self_affine_profiles(rng, np.full(n, zeta), length) * rng.uniform(3, 12, n)[:, None])
    sigma = rng.uniform(0.06, 0.1, n)
    values = zeta + bias + rng.normal(0.0, sigma)
    rows = [Row(path=f"walls/w{i:02d}.png", zeta=float(values[i]), zeta_std=float(sigma[i]),
                zeta_classical=float(values[i]), orientation="vertical/right", width=64, height=len(profiles[i]),
                profile=np.asarray(profiles[i], dtype=np.float32)) for i in range(n)]
    rows += [Row(path=f"walls/bad<{i}>.png", status="error", message="corrupt & unreadable") for i in range(errors)]
    return rows


# --- numbers and warnings ------------------------------------------------------------------------

def test_homogeneous_batch_summary():
    rng = np.random.default_rng(23)
    data = report.build_report(synthetic_rows(rng, 0.6, 30, errors=2), model=MODEL, n_boot=500)
    s = data.summary
    assert SUMMARY_KEYS <= set(s)
    assert s["n_walls"] == 30 and s["n_images"] == 32 and s["n_errors"] == 2
    assert s["zeta_ci95"][0] < s["zeta"] < s["zeta_ci95"][1] and s["zeta_ci95"][1] - s["zeta_ci95"][0] < 0.1
    assert s["zeta"] == pytest.approx(0.6, abs=3 * s["zeta_se"]) and s["spread"] < 0.05  # coverage: test_ensemble
    assert s["zeta_classical"] == pytest.approx(0.6, abs=0.05)
    assert s["zeta_classical_ci95"][0] < s["zeta_classical"] < s["zeta_classical_ci95"][1]
    assert s["fit_window_px"] == [5.0, 128.0] and s["crossover_px"] is None
    assert s["model"] == MODEL
    assert s["warnings"] == ["2 of 32 images could not be measured and were skipped (error rows in the table)"]
    # the total interval adds the model – S(q) disagreement to the statistical one
    assert s["zeta_systematic"] == pytest.approx(abs(s["zeta"] - s["zeta_classical"]))
    assert s["zeta_total_ci95"][0] <= s["zeta_ci95"][0] and s["zeta_total_ci95"][1] >= s["zeta_ci95"][1]


def test_a_biased_model_gets_a_wider_total_interval():
    rng = np.random.default_rng(29)
    data = report.build_report(synthetic_rows(rng, 0.6, 30, bias=0.2), model=MODEL, n_boot=500)
    s = data.summary
    assert not s["zeta_ci95"][0] <= 0.6 <= s["zeta_ci95"][1]  # statistical interval misses the truth
    assert s["zeta_systematic"] > 0.15 and s["zeta_total_ci95"][0] <= 0.6 <= s["zeta_total_ci95"][1]


def test_few_walls_and_disagreement_are_warned():
    rng = np.random.default_rng(2)
    s = report.build_report(synthetic_rows(rng, 0.5, 6, bias=0.4), model=MODEL, n_boot=300).summary
    assert s["n_walls"] == 6
    assert any(w.startswith("only 6 walls") for w in s["warnings"])
    assert any("disagree beyond their combined 95 % intervals" in w for w in s["warnings"])


def test_crossover_is_reported_and_warned():
    rng = np.random.default_rng(3)
    rows = synthetic_rows(rng, 0.6, 30, profiles=crossover_walls(rng, 32.0))
    s = report.build_report(rows, model=MODEL, n_boot=200).summary
    assert s["fit_window_px"] == [5.0, 256.0]
    assert s["crossover_px"] is not None and 16 < s["crossover_px"] < 64
    assert any(w.startswith("crossover") for w in s["warnings"])


def test_super_rough_walls_warn_that_b_saturates():
    rng = np.random.default_rng(4)
    s = report.build_report(synthetic_rows(rng, 1.2, 20), model=MODEL, n_boot=200).summary
    assert s["zeta_classical"] == pytest.approx(1.2, abs=0.06)
    assert s["zeta_height_difference"] < 1.05
    assert any("B(r) saturates" in w for w in s["warnings"])


def test_rows_without_profiles_give_no_classical_ensemble():
    rng = np.random.default_rng(5)
    rows = synthetic_rows(rng, 0.6, 12)
    for row in rows:
        row.profile = None
    s = report.build_report(rows, model=MODEL, n_boot=200).summary
    assert s["zeta"] is not None and s["zeta_classical"] is None and s["crossover_px"] is None
    assert s["zeta_classical_ci95"] == [None, None]
    assert any("no wall profile" in w for w in s["warnings"])


def test_walls_too_short_for_the_window():
    rng = np.random.default_rng(6)
    s = report.build_report(synthetic_rows(rng, 0.6, 12, length=32), model=MODEL, min_scale_px=10.0).summary
    assert s["zeta_classical"] is None
    assert any("leaves no fit window" in w for w in s["warnings"])


def test_walls_with_a_warning_are_counted_and_listed():
    from roughml.serving.report.page import render_page

    rows = synthetic_rows(np.random.default_rng(9), 0.6, 12, errors=1)
    rows[0].warning = "model uncertain (σ = 0.31)"
    rows[4].warning = "wall length 5000 px outside the trained 64–4096 px; <odd>"
    rows[-1].warning = ""  # error rows never carry one
    data = report.build_report(rows, model=MODEL, n_boot=100)
    counted = [w for w in data.summary["warnings"] if "carry a warning" in w]
    assert len(counted) == 1 and counted[0].startswith("2 of 12 walls carry a warning")
    page = render_page(data, [])
    assert "<th class=text>warning</th>" in page
    assert "<td class=text>model uncertain (σ = 0.31)</td>" in page and "; &lt;odd&gt;</td>" in page
    for row in rows:
        row.warning = ""
    quiet = report.build_report(rows, model=MODEL, n_boot=100).summary["warnings"]
    assert not any("carry a warning" in w for w in quiet)


# --- files ---------------------------------------------------------------------------------------

def _strict_json(path: Path) -> dict:
    def refuse(token):
        raise ValueError(f"not strict JSON: {token}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def test_report_files_written_atomically_and_self_contained(tmp_path):
    rng = np.random.default_rng(7)
    rows = synthetic_rows(rng, 0.6, 15, errors=1)
    folder = tmp_path / "report"
    folder.mkdir()
    (folder / "index.html").write_text("old " * 10000, encoding="utf-8")
    report.write_report(rows, folder, model=MODEL, n_boot=200)
    assert sorted(p.name for p in folder.iterdir()) == sorted(report.REPORT_FILES)
    summary = _strict_json(folder / "summary.json")
    assert SUMMARY_KEYS <= set(summary) and summary["n_walls"] == 15
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert page.count('<img src="data:image/png;base64,') == 4
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert "walls/bad&lt;0&gt;.png" in page and "corrupt &amp; unreadable" in page
    with open(folder / "walls.csv", newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == list(COLUMNS) and len(table) == 16
    assert table[-1]["status"] == "error"


def test_report_of_a_batch_without_any_ok_row(tmp_path):
    rows = [Row(path="a.png", status="error", message="not an image")]
    data = report.write_report(rows, tmp_path / "r", model=MODEL)
    summary = _strict_json(tmp_path / "r" / "summary.json")
    assert summary["zeta"] is None and summary["n_walls"] == 0 and summary["zeta_ci95"] == [None, None]
    assert data.summary["warnings"][0] == "no wall could be measured: no combined ζ"
    assert (tmp_path / "r" / "index.html").read_text(encoding="utf-8").count("data:image/png;base64,") == 4


def test_unwritable_report_folder_is_one_error(tmp_path):
    from roughml.core.errors import RoughmlError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RoughmlError, match="cannot write the report"):
        report.write_report(synthetic_rows(np.random.default_rng(8), 0.5, 3), blocker / "sub", model=MODEL)


# --- the page in a real browser ------------------------------------------------------------------

_PROBE = """<script>
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  document.body.setAttribute("data-probe", JSON.stringify(images.map(function (img) {
    return {figure: img.parentNode.id, complete: img.complete, width: img.naturalWidth};
  })));
});
</script>
"""


def chromium_binary() -> str | None:
    """A Chromium (or Chrome) executable: ``$ROUGHML_CHROMIUM``, else the usual names on PATH."""
    explicit = os.environ.get("ROUGHML_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def test_page_loads_every_picture_in_headless_chromium(tmp_path):
    browser = chromium_binary()
    if browser is None:
        pytest.skip("no Chromium binary found (Debian: apt-get install -y chromium; or set ROUGHML_CHROMIUM)")
    folder = tmp_path / "report"
    report.write_report(synthetic_rows(np.random.default_rng(9), 0.6, 12, errors=1), folder, model=MODEL, n_boot=200)
    page = (folder / "index.html").read_text(encoding="utf-8")
    probe = folder / "probe.html"  # the page itself plus a script that records what the browser loaded
    probe.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--run-all-compositor-stages-before-draw", "--virtual-time-budget=10000",
               f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", probe.as_uri()]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    start = proc.stdout.index('data-probe="') + len('data-probe="')
    import html

    loaded = json.loads(html.unescape(proc.stdout[start:proc.stdout.index('"', start)]))
    assert [img["figure"] for img in loaded] == ["structure_factor", "height_difference", "walls", "local_slope"]
    assert all(img["complete"] and img["width"] > 0 for img in loaded), loaded


# --- MLflow --------------------------------------------------------------------------------------

def test_track_report_logs_a_run_with_the_model_version(sqlite_tracking, tmp_path):
    import mlflow

    from roughml.serving import tracking

    tracking.configure(sqlite_tracking)
    rows = synthetic_rows(np.random.default_rng(10), 0.6, 12, errors=1)
    data = report.write_report(rows, tmp_path / "rep", model=MODEL, n_boot=200)
    run_id = report.track_report(data, tmp_path / "rep", source=tmp_path / "images")
    client = mlflow.MlflowClient()
    run = client.get_run(run_id)
    assert client.get_experiment(run.info.experiment_id).name == report.EXPERIMENT == "roughml-predictions"
    assert run.data.tags["roughml.model_uri"] == MODEL
    assert run.data.tags["roughml.model_name"] == "roughml" and run.data.tags["roughml.model_version"] == "7"
    assert run.data.metrics["zeta"] == pytest.approx(data.summary["zeta"])
    assert run.data.metrics["n_walls"] == 12 and run.data.params["fit_min_px"] == "5.0"
    logged = {f.path for f in client.list_artifacts(run_id, "report")} | {f.path for f in client.list_artifacts(run_id)}
    assert {"report/summary.json", "report/index.html", "report/walls.csv", "walls.json"} <= logged


def test_model_tags_of_other_uris():
    assert report.runs.model_tags("runs:/abc/model") == {"roughml.model_uri": "runs:/abc/model"}


# --- the profiles behind the report ----------------------------------------------------------------

def test_per_image_work_keeps_the_profile_of_the_classical_fit():
    from roughml.imaging.classical import estimate_image
    from roughml.physics.rendering import LabSample, render_lab
    from roughml.physics.synthesis import quantise
    from roughml.serving.pyfunc import RoughnessPyfunc
    from roughml.serving.preparation import prepare_item

    rng = np.random.default_rng(11)
    heights, _ = quantise(self_affine_profiles(rng, [0.6], 160), 8.0, 96)
    lab = LabSample(contrast=0.6, illumination=0.1, blur_sigma=1.0, noise_sigma=0.03, n_islands=0,
                    island_radius=1.0, rotation_deg=0.0)
    image = render_lab(heights[0], 96, "horizontal", "top", lab, rng)
    (record, _), = prepare_item("lab.png", image, None, classical=True)
    profile = np.asarray(record[PROFILE_KEY])
    assert profile.dtype == np.float32 and profile.shape == (160,)
    (again, _), = prepare_item("lab.png", image, None, classical=True)
    assert again[PROFILE_KEY] == record[PROFILE_KEY]  # records compare by value, profile included
    assert pickle.loads(pickle.dumps(record))[PROFILE_KEY] == record[PROFILE_KEY]  # from worker processes
    assert record["zeta_classical"] == estimate_image(image).zeta  # the same fit as `roughml estimate`
    row = record_row(record)
    assert row.profile is profile and list(rows_as_dicts([row])[0]) == list(COLUMNS)
    assert list(RoughnessPyfunc.frame([record]).columns) == list(COLUMNS)
    (without, _), = prepare_item("lab.png", image, None, classical=False)
    assert PROFILE_KEY not in without and record_row(without).profile is None


# --- the command line --------------------------------------------------------------------------------

from tests.test_cli import assert_usage_error, registry_store, run_cli, sqlite_uri  # noqa: E402,F401


@pytest.fixture(scope="module")
def wall_folder(tmp_path_factory) -> Path:
    """12 clean walls of one ζ, plus a text file (an error row)."""
    from roughml.physics.rendering import render_binary
    from roughml.physics.synthesis import quantise

    folder = tmp_path_factory.mktemp("walls")
    rng = np.random.default_rng(12)
    heights, _ = quantise(self_affine_profiles(rng, np.full(12, 0.6), 128), 6.0, 64)
    for i, h in enumerate(heights):
        Image.fromarray(render_binary(h, 64)).save(folder / f"wall_{i:02d}.png")
    (folder / "notes.txt").write_text("not an image", encoding="utf-8")
    return folder


def test_predict_report_and_track_end_to_end(registry_store, wall_folder, tmp_path):  # noqa: F811
    import mlflow

    proc = run_cli(["predict", str(wall_folder), "--output", "p.csv", "--report", "rep", "--track",
                    "--fit-min-px", "4"], tmp_path, registry_store)
    assert proc.returncode == 1, proc.stderr[-3000:]  # the text file is an error row
    assert "Traceback" not in proc.stderr
    summary = _strict_json(tmp_path / "rep" / "summary.json")
    assert SUMMARY_KEYS <= set(summary)
    assert summary["n_walls"] == 12 and summary["n_errors"] == 1 and summary["model"] == "models:/roughml/1"
    assert summary["fit_window_px"] == [4.0, 32.0] and math.isfinite(summary["zeta_classical"])
    assert "report -> " in proc.stdout and "run " in proc.stdout
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == sorted(report.REPORT_FILES)
    client = mlflow.MlflowClient(tracking_uri=registry_store)
    experiment = client.get_experiment_by_name("roughml-predictions")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.tags["roughml.model_version"] == "1"


def test_predict_report_needs_the_classical_fit(wall_folder, tmp_path):
    proc = run_cli(["predict", str(wall_folder), "--report", "rep", "--no-classical"], tmp_path, sqlite_uri(tmp_path))
    assert_usage_error(proc, "--no-classical")
    assert not (tmp_path / "rep").exists()
