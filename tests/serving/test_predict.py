"""The roughml pyfunc (paths, bytes, base64, arrays), fresh-process loading from the registry,
and ``predict_folder`` over a folder that mixes good and bad files — against a real sqlite store and
a real ``mlflow server``."""

from __future__ import annotations

import base64
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from roughml.core.errors import RoughmlError

TESTS_DIR = Path(__file__).resolve().parent
REPO = TESTS_DIR.parents[1]

from roughml.serving import batching
from roughml.serving import inputs
from roughml.serving import preparation
from roughml.serving import pyfunc as pyfunc_model
from roughml.serving import registry
from roughml.serving import rows
from roughml.serving import stream as rstream
from roughml.serving import tracking
from roughml.serving.inputs import list_inputs
from roughml.serving.predict import predict_folder


# --- fixtures ------------------------------------------------------------------------------------

def wall_image(length: int, width: int, seed: int) -> np.ndarray:
    """uint8 image of a random-walk wall running top to bottom, dark domain on the left."""
    rng = np.random.default_rng(seed)
    h = np.cumsum(rng.normal(0.0, 1.0, length))
    h = width / 2 + (h - h.mean())
    cols = np.arange(width)[None, :]
    return np.where(cols < h[:, None], 40, 210).astype(np.uint8)


def png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory) -> Path:
    """A tiny untrained roughml regressor saved as .keras (the real architecture, small sizes)."""
    from roughml.learning.model import build_model

    path = tmp_path_factory.mktemp("keras") / "model.keras"
    build_model("regressor", stem_filters=2, tower_filters=4, tower_levels=3).save(path)
    return path


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    """3 good walls (two sizes), a uniform image, a corrupt .png and a non-image file."""
    folder = tmp_path_factory.mktemp("images")
    for i, (length, width) in enumerate([(64, 64), (96, 64), (64, 64)]):
        Image.fromarray(wall_image(length, width, seed=i)).save(folder / f"wall_{i}.png")
    Image.fromarray(np.full((64, 64), 128, np.uint8)).save(folder / "uniform.png")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def _log_and_register(keras_file: Path, rms: float, name: str = "roughml") -> registry.Decision:
    import mlflow

    tracking.configure()
    exp = tracking.ensure_experiment("roughml-test")
    with mlflow.start_run(experiment_id=exp) as run:
        info = pyfunc_model.log_model(keras_file)
        mlflow.log_metric("test_rms", rms)
    return registry.register_and_promote(run.info.run_id, name, info.model_uri, rms)


def _check_frame(df: pd.DataFrame, n_ok: int, n_error: int) -> None:
    assert list(df.columns) == list(rows.COLUMNS)
    assert (df["status"] == "ok").sum() == n_ok
    assert (df["status"] == "error").sum() == n_error
    ok = df[df["status"] == "ok"]
    assert np.isfinite(ok["zeta"]).all() and (ok["zeta_std"] > 0).all()
    assert (df.loc[df["status"] == "error", "message"].str.len() > 0).all()
    assert (df.loc[df["status"] == "error", "warning"] == "").all()


# --- pyfunc in-process ---------------------------------------------------------------------------

def test_predict_arrays_groups_shapes_and_keeps_order(keras_file):
    model = pyfunc_model.RoughnessPyfunc(batch_size=2)
    model.load_keras(keras_file)
    images = [wall_image(64, 64, 0), wall_image(96, 48, 1), wall_image(64, 64, 2),
              np.zeros((64, 64), np.uint8), wall_image(64, 64, 0)]
    df = model.predict_arrays(images, labels=list("abcde"))
    assert list(df["path"]) == list("abcde")
    _check_frame(df, n_ok=4, n_error=1)
    assert df.loc[3, "status"] == "error" and "uniform" in df.loc[3, "message"]
    # identical images give identical answers whatever their batch neighbours
    assert df.loc[0, "zeta"] == pytest.approx(df.loc[4, "zeta"], abs=1e-6)
    assert (df.loc[1, "height"], df.loc[1, "width"]) == (96, 48)
    # same numbers as the Keras model's own predict path
    from roughml.learning.model import load, predict_zeta
    from roughml.imaging.canonical import prepare

    zeta, std = predict_zeta(load(keras_file), prepare(images[1]).image[None, ..., None])
    assert df.loc[1, "zeta"] == pytest.approx(zeta[0], abs=1e-5)
    assert df.loc[1, "zeta_std"] == pytest.approx(std[0], rel=1e-4)


def test_bad_input_frame_is_refused(keras_file):
    model = pyfunc_model.RoughnessPyfunc()
    model.load_keras(keras_file)
    with pytest.raises(RoughmlError, match="column 'path'"):
        model.predict(None, pd.DataFrame({"file": ["x.png"]}))
    with pytest.raises(RoughmlError, match="base64"):
        inputs.as_bytes("not base64 !!!")


# --- registry + pyfunc through a sqlite store ------------------------------------------------------

def test_pyfunc_from_registry_paths_bytes_base64_sqlite(sqlite_tracking, keras_file, image_folder):
    import mlflow

    decision = _log_and_register(keras_file, 0.2)
    assert decision.promoted
    loaded = mlflow.pyfunc.load_model("models:/roughml@production")
    paths = [str(image_folder / n) for n in ("wall_0.png", "wall_1.png", "uniform.png", "corrupt.png")]
    by_path = loaded.predict(pd.DataFrame({"path": paths}))
    _check_frame(by_path, n_ok=2, n_error=2)
    assert list(by_path["path"]) == paths
    raw = [Path(p).read_bytes() for p in paths]
    by_bytes = loaded.predict(pd.DataFrame({"image": raw}))
    _check_frame(by_bytes, n_ok=2, n_error=2)
    np.testing.assert_allclose(by_bytes["zeta"].to_numpy(), by_path["zeta"].to_numpy(), rtol=1e-6)
    b64 = [base64.b64encode(r).decode("ascii") for r in raw[:2]]
    by_b64 = loaded.predict(pd.DataFrame({"image": b64}))  # as `mlflow models serve` JSON sends them
    np.testing.assert_allclose(by_b64["zeta"].to_numpy(), by_path["zeta"].to_numpy()[:2], rtol=1e-6)
    # the signature's params: the classical column only on request (default on), per call
    ok = by_path["status"] == "ok"
    assert by_path.loc[ok, "zeta_classical"].notna().all()
    fast = loaded.predict(pd.DataFrame({"path": paths}), params={"classical": False, "batch_size": 1})
    assert fast["zeta_classical"].isna().all()
    np.testing.assert_allclose(fast["zeta"].to_numpy(), by_path["zeta"].to_numpy(), rtol=1e-6)
    again = loaded.predict(pd.DataFrame({"path": paths[:1]}))
    assert again["zeta_classical"].notna().all()


def test_logged_from_code_with_params_and_shipped_code(sqlite_tracking, keras_file):
    """Models from code: no pickled object; batch size in model_config; params in the signature;
    no MLflow FutureWarning on the way (the filter is set after tracking.configure, which hides
    them from CLI users)."""
    import warnings

    import mlflow
    from mlflow.models import Model

    tracking.configure()
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        with mlflow.start_run(experiment_id=tracking.ensure_experiment("roughml-test")):
            info = pyfunc_model.log_model(keras_file, batch_size=7)
        loaded = mlflow.pyfunc.load_model(info.model_uri)
    local = Path(mlflow.artifacts.download_artifacts(info.model_uri))
    flavor = Model.load(str(local)).flavors["python_function"]
    assert flavor["loader_module"] == "mlflow.pyfunc.loaders.code_model"
    assert (local / "model_code.py").read_text() == pyfunc_model.MODEL_CODE.read_text()
    assert not list(local.rglob("*.pkl")) and flavor["config"] == {"batch_size": 7}
    assert sorted(p.name for p in (local / "code" / "roughml").iterdir()) == sorted(pyfunc_model.SHIPPED_PARTS)
    params = {spec.name: (spec.to_dict()["type"], spec.default) for spec in info.signature.params}
    assert params == {"classical": ("boolean", True), "batch_size": ("long", 7)}
    assert pyfunc_model.unwrap(loaded).batch_size == 7


def test_versions_pickled_by_older_roughml_still_load(sqlite_tracking, keras_file, image_folder):
    """Registries hold versions logged as a pickled RoughnessPyfunc before models from code."""
    import mlflow

    tracking.configure()
    with mlflow.start_run(experiment_id=tracking.ensure_experiment("roughml-test")):
        info = mlflow.pyfunc.log_model(name="model", python_model=pyfunc_model.RoughnessPyfunc(batch_size=5),
                                       artifacts={pyfunc_model.KERAS_ARTIFACT: str(keras_file)},
                                       pip_requirements=["mlflow"])
    loaded = pyfunc_model.unwrap(mlflow.pyfunc.load_model(info.model_uri))
    assert loaded.batch_size == 5 and loaded.keras_model is not None
    df = loaded.predict(None, pd.DataFrame({"path": [str(image_folder / "wall_0.png")]}))
    _check_frame(df, n_ok=1, n_error=0)


def test_fresh_process_loads_production_model(sqlite_tracking, keras_file, image_folder):
    _log_and_register(keras_file, 0.2)
    script = f"""
import json
import mlflow, pandas as pd
m = mlflow.pyfunc.load_model("models:/roughml@production")
df = m.predict(pd.DataFrame({{"path": [{str(image_folder / 'wall_0.png')!r}, {str(image_folder / 'corrupt.png')!r}]}}))
import os, roughml
shipped = sorted(os.listdir(os.path.dirname(roughml.__file__)))
print(json.dumps({{**df[["status", "zeta"]].to_dict("list"), "roughml": roughml.__file__, "shipped": shipped}}))
"""
    # no pickle is needed to load the model (models from code)
    env = {**os.environ, "MLFLOW_TRACKING_URI": sqlite_tracking, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "false"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          timeout=240, cwd=str(REPO))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == ["ok", "error"]
    assert math.isfinite(result["zeta"][0])
    # served by the copy logged with the model, which holds only what serving needs
    assert not Path(result["roughml"]).resolve().is_relative_to(REPO / "src")
    assert [name for name in result["shipped"] if name != "__pycache__"] == sorted(pyfunc_model.SHIPPED_PARTS)


def test_package_copy_ships_only_the_serving_layers(tmp_path):
    copy = pyfunc_model._package_copy(tmp_path)
    assert sorted(p.name for p in copy.iterdir()) == sorted(pyfunc_model.SHIPPED_PARTS)
    assert (copy / "serving" / "pyfunc.py").is_file() and (copy / "learning" / "model.py").is_file()
    assert not list(copy.rglob("__pycache__")) and not list(copy.rglob("*.pyc"))


# --- predict_folder --------------------------------------------------------------------------------

def test_predict_folder_mixed_good_and_bad_files(sqlite_tracking, keras_file, image_folder):
    _log_and_register(keras_file, 0.2)
    uri = registry.resolve_model_uri("roughml", stage="Production")
    seen = []
    result = predict_folder(image_folder, uri, progress=seen.append, batch_size=2)
    names = [Path(r.path).name for r in result]
    assert names == [p.name for p in list_inputs(image_folder)]
    status = {Path(r.path).name: r.status for r in result}
    assert status == {"corrupt.png": "error", "uniform.png": "error", "notes.txt": "error",
                      "wall_0.png": "ok", "wall_1.png": "ok", "wall_2.png": "ok"}
    assert sum(seen) == len(result) and max(seen) <= 2
    for row in result:
        if row.status == "ok":
            assert row.zeta is not None and math.isfinite(row.zeta) and row.zeta_std > 0
            assert (row.height, row.width) in ((64, 64), (96, 64))
        else:
            assert row.zeta is None and row.orientation is None and row.message


def test_predict_folder_errors(sqlite_tracking, tmp_path):
    from roughml.core.errors import TrackingError

    with pytest.raises(RoughmlError, match="no such folder"):
        predict_folder(tmp_path / "missing", "models:/roughml/1")
    (tmp_path / "imgs").mkdir()
    with pytest.raises(TrackingError, match="cannot load model"):
        predict_folder(tmp_path / "imgs", str(tmp_path / "no_model_here"))


# --- the same against a real tracking server ------------------------------------------------------

def test_pyfunc_through_mlflow_server(server_tracking, keras_file, image_folder):
    import mlflow

    decision = _log_and_register(keras_file, 0.3, name="roughml-server")
    assert decision.promoted
    uri = registry.resolve_model_uri("roughml-server", alias="production")
    loaded = mlflow.pyfunc.load_model(uri)
    df = loaded.predict(pd.DataFrame({"image": [png_bytes(wall_image(64, 64, 5)), b"garbage"]}))
    _check_frame(df, n_ok=1, n_error=1)
    result = predict_folder(image_folder, uri)
    assert sorted(r.status for r in result) == ["error", "error", "error", "ok", "ok", "ok"]


# --- per-image work, worker processes, batching ------------------------------------------------------

from roughml.serving import predict as rpredict  # noqa: E402


@pytest.fixture(scope="module")
def many_files(tmp_path_factory) -> list[Path]:
    """20 files: walls of three sizes in all orientations, plus a uniform, a corrupt and a text file."""
    from roughml.physics import rendering as render
    folder = tmp_path_factory.mktemp("many")
    geometries = [("vertical", "right"), ("vertical", "left"), ("horizontal", "bottom"), ("horizontal", "top")]
    for i in range(17):
        canonical = wall_image((64, 80, 96)[i % 3], 64, seed=10 + i)
        if i % 5 == 4:  # some grayscale (noisy) walls: the classical fit then frees the noise floor
            canonical = np.clip(canonical + np.random.default_rng(i).normal(0, 12, canonical.shape), 0, 255).astype(np.uint8)
        Image.fromarray(render.orient(canonical, *geometries[i % 4])).save(folder / f"w{i:02d}.png")
    Image.fromarray(np.full((64, 64), 90, np.uint8)).save(folder / "w05_uniform.png")
    (folder / "w09_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (folder / "w13_notes.txt").write_text("not an image")
    return list_inputs(folder)


def _same_prepared(a, b) -> None:
    assert [rec["path"] for rec, _ in a] == [rec["path"] for rec, _ in b]
    def comparable(record):  # NaN never equals NaN; as None it does
        return {k: None if isinstance(v, float) and math.isnan(v) else v
                for k, v in record.items() if k != "zeta_classical"}

    for (rec_a, img_a), (rec_b, img_b) in zip(a, b):
        assert comparable(rec_a) == comparable(rec_b)
        assert rec_a["zeta_classical"] == pytest.approx(rec_b["zeta_classical"], nan_ok=True)
        if img_a is None:
            assert img_b is None
        else:
            np.testing.assert_array_equal(img_a, img_b)


def test_prepare_item_shares_the_geometry_with_the_classical_estimate():
    from roughml.physics import rendering as render
    from roughml.imaging.classical import estimate_image

    gray = render.orient(wall_image(96, 64, 3), "horizontal", "top")
    (record, image), = preparation.prepare_item("a", gray, None, classical=True)
    assert record["status"] == "ok" and record["orientation"] == "horizontal/top"
    assert (record["height"], record["width"]) == gray.shape
    assert record["zeta_classical"] == pytest.approx(estimate_image(gray).zeta)
    assert image.dtype == np.float32 and image.shape[0] == 96  # canonical: wall along the rows
    (record, image), = preparation.prepare_item("b", gray, None, classical=False)
    assert math.isnan(record["zeta_classical"]) and image is not None
    (record, image), = preparation.prepare_item("c", np.full((64, 64), 7, np.uint8), None, classical=True)
    assert image is None and record["status"] == "error" and "uniform" in record["message"]
    assert (record["height"], record["width"]) == (64, 64)
    (record, image), = preparation.prepare_item("d", None, "x: not an image", classical=True)
    assert image is None and record["message"] == "x: not an image" and record["width"] is None


def test_prepared_stream_with_workers_matches_in_process(many_files):
    serial = list(rstream.PreparedStream(many_files, classical=True, workers=0).__enter__())
    assert len(serial) == len(many_files)
    assert sum(rec["status"] == "ok" for rec, _ in serial) == 17
    assert all(math.isfinite(rec["zeta_classical"]) for rec, _ in serial if rec["status"] == "ok")
    with rstream.PreparedStream(many_files, classical=True, workers=2) as stream:
        assert stream._pool is not None
        parallel = list(stream)
    _same_prepared(parallel, serial)
    # A byte budget smaller than one image still moves every file through, in order.
    with rstream.PreparedStream(many_files, classical=True, workers=2, buffer_bytes=1) as stream:
        tight = list(stream)
    _same_prepared(tight, serial)


def test_prepared_stream_finishes_in_process_when_the_pool_goes_away(many_files):
    serial = list(rstream.PreparedStream(many_files, classical=False, workers=0).__enter__())
    with rstream.PreparedStream(many_files, classical=False, workers=2) as stream:
        stream._pool.shutdown(wait=True, cancel_futures=True)  # as if the workers had died
        rescued = list(stream)
    _same_prepared(rescued, serial)


def test_predict_paths_with_workers_and_pixel_capped_batches(keras_file, many_files, monkeypatch):
    model = pyfunc_model.RoughnessPyfunc(classical=False)
    model.load_keras(keras_file)
    seen = []
    serial = list(rpredict.predict_paths(many_files, model, workers=0, batch_size=64))
    monkeypatch.setattr(batching, "MAX_BATCH_PIXELS", 2 * 96 * 64)  # at most 2 images per pass
    parallel = list(rpredict.predict_paths(many_files, model, workers=2, batch_size=5, progress=seen.append))
    assert [r.path for r in parallel] == [str(p) for p in many_files]
    assert seen == [5, 5, 5, 5] and sum(seen) == len(many_files)
    for a, b in zip(serial, parallel):
        assert (a.status, a.orientation, a.width, a.height) == (b.status, b.orientation, b.width, b.height)
        if a.status == "ok":
            assert b.zeta == pytest.approx(a.zeta, abs=1e-5) and b.zeta_std == pytest.approx(a.zeta_std, rel=1e-4)
    assert sum(r.status == "ok" for r in parallel) == 17


def test_disagreeing_model_and_classical_fit_warn_in_rows_csv_and_frame(keras_file, image_folder, tmp_path,
                                                                       monkeypatch):
    """The predict path end to end (per-image work, classical fit, network, rows, CSV), with the
    network's answer fixed far from every wall's classical ζ: each ok row says so."""
    import csv

    model = pyfunc_model.RoughnessPyfunc()
    model.load_keras(keras_file)

    def confident_and_wrong(batch):  # ζ inside the training range, tiny σ: only the disagreement warns
        return np.full(len(batch), 1.15), np.full(len(batch), 0.01)

    monkeypatch.setattr(model, "_infer", confident_and_wrong)
    result = list(rpredict.predict_paths(list_inputs(image_folder), model, workers=0))
    ok = [r for r in result if r.status == "ok"]
    assert len(ok) == 3 and all(r.zeta_classical < 0.9 for r in ok)
    for row in ok:
        assert row.warning.startswith("model and classical fit disagree: 1.15 vs "), row
        assert row.warning.endswith("σ)") and ";" not in row.warning
    assert all(r.warning == "" for r in result if r.status != "ok")
    rows.write_rows(result, tmp_path / "p.csv")
    with open(tmp_path / "p.csv", newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        written = list(reader)
    assert reader.fieldnames[-3:] == ["warning", "status", "message"]
    assert [r["warning"] for r in written] == [r.warning for r in result]
    # the pyfunc's DataFrame (REST, Spark) carries the same cell, a string column
    frame = model.predict(None, pd.DataFrame({"path": [str(image_folder / "wall_0.png")]}))
    assert frame.loc[0, "warning"] == ok[0].warning and pd.api.types.is_string_dtype(frame["warning"])
    # without the classical fit nothing contradicts the model: no warning
    fast = model.predict(None, pd.DataFrame({"path": [str(image_folder / "wall_0.png")]}),
                         params={"classical": False})
    assert fast.loc[0, "warning"] == ""


def test_native_stderr_silenced_only_inside():
    script = ("import os\nfrom roughml.serving.pyfunc import _native_stderr_silenced\n"
              "with _native_stderr_silenced():\n    os.write(2, b'hidden\\n')\nos.write(2, b'shown\\n')\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "shown\n"


def test_cli_predict_with_workers_keeps_order_and_errors(sqlite_tracking, keras_file, many_files):
    """The real command: workers are forked before TensorFlow loads; one row per file, in order."""
    _log_and_register(keras_file, 0.2)
    folder = many_files[0].parent
    out = folder.parent / "cli_predictions.csv"
    exe = Path(sys.executable).with_name("roughml")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "roughml.cli"]
    proc = subprocess.run(command + ["predict", str(folder), "--tracking-uri", sqlite_tracking,
                                     "--model-name", "roughml", "--output", str(out), "--classical"],
                          capture_output=True, text=True, timeout=300, cwd=str(folder.parent))
    assert proc.returncode == 1, proc.stderr[-3000:]  # some rows are errors
    assert "oneDNN" not in proc.stderr and "absl" not in proc.stderr
    df = pd.read_csv(out)
    assert list(df["path"]) == [str(p) for p in many_files]
    ok = df["status"] == "ok"
    assert ok.sum() == 17 and np.isfinite(df.loc[ok, "zeta"]).all()
    assert df.loc[ok, "zeta_classical"].notna().all()
    assert set(df.loc[~ok, "path"].map(lambda p: Path(p).name)) == {"w05_uniform.png", "w09_corrupt.png", "w13_notes.txt"}
