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

from roughml.errors import RoughmlError

TESTS_DIR = Path(__file__).resolve().parent
REPO = TESTS_DIR.parent


from roughml import pyfunc_model, registry, tracking  # noqa: E402
from roughml.predict import list_inputs, predict_folder  # noqa: E402


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
    from roughml.model import build_model
    from roughml.params import TrainParams

    path = tmp_path_factory.mktemp("keras") / "model.keras"
    build_model("regressor", TrainParams(stem_filters=2, tower_filters=4, tower_levels=3)).save(path)
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
    assert list(df.columns) == list(pyfunc_model.COLUMNS)
    assert (df["status"] == "ok").sum() == n_ok
    assert (df["status"] == "error").sum() == n_error
    ok = df[df["status"] == "ok"]
    assert np.isfinite(ok["zeta"]).all() and (ok["zeta_std"] > 0).all()
    assert (df.loc[df["status"] == "error", "message"].str.len() > 0).all()


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
    from roughml.model import load, predict_zeta
    from roughml.preprocess import prepare

    zeta, std = predict_zeta(load(keras_file), prepare(images[1]).image[None, ..., None])
    assert df.loc[1, "zeta"] == pytest.approx(zeta[0], abs=1e-5)
    assert df.loc[1, "zeta_std"] == pytest.approx(std[0], rel=1e-4)


def test_bad_input_frame_is_refused(keras_file):
    model = pyfunc_model.RoughnessPyfunc()
    model.load_keras(keras_file)
    with pytest.raises(RoughmlError, match="column 'path'"):
        model.predict(None, pd.DataFrame({"file": ["x.png"]}))
    with pytest.raises(RoughmlError, match="base64"):
        pyfunc_model.as_bytes("not base64 !!!")


# --- registry + pyfunc through a sqlite store ------------------------------------------------------

def test_pyfunc_from_registry_paths_bytes_base64_sqlite(sqlite_tracking, keras_file, image_folder):
    import mlflow

    decision = _log_and_register(keras_file, 0.2)
    assert decision.promoted
    loaded = mlflow.pyfunc.load_model("models:/roughml/Production")
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


def test_fresh_process_loads_production_model(sqlite_tracking, keras_file, image_folder):
    _log_and_register(keras_file, 0.2)
    script = f"""
import sys, json
sys.path.insert(0, {str(TESTS_DIR)!r})
import test_predict  # installs stand-ins for modules not written yet
import mlflow, pandas as pd
m = mlflow.pyfunc.load_model("models:/roughml/Production")
df = m.predict(pd.DataFrame({{"path": [{str(image_folder / 'wall_0.png')!r}, {str(image_folder / 'corrupt.png')!r}]}}))
print(json.dumps(df[["status", "zeta"]].to_dict("list")))
"""
    env = {**os.environ, "MLFLOW_TRACKING_URI": sqlite_tracking}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          timeout=240, cwd=str(REPO))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == ["ok", "error"]
    assert math.isfinite(result["zeta"][0])


# --- predict_folder --------------------------------------------------------------------------------

def test_predict_folder_mixed_good_and_bad_files(sqlite_tracking, keras_file, image_folder):
    _log_and_register(keras_file, 0.2)
    uri = registry.resolve_model_uri("roughml", stage="Production")
    seen = []
    rows = predict_folder(image_folder, uri, progress=seen.append, batch_size=2)
    names = [Path(r.path).name for r in rows]
    assert names == [p.name for p in list_inputs(image_folder)]
    status = {Path(r.path).name: r.status for r in rows}
    assert status == {"corrupt.png": "error", "uniform.png": "error", "notes.txt": "error",
                      "wall_0.png": "ok", "wall_1.png": "ok", "wall_2.png": "ok"}
    assert sum(seen) == len(rows) and max(seen) <= 2
    for row in rows:
        if row.status == "ok":
            assert row.zeta is not None and math.isfinite(row.zeta) and row.zeta_std > 0
            assert (row.height, row.width) in ((64, 64), (96, 64))
        else:
            assert row.zeta is None and row.orientation is None and row.message


def test_predict_folder_errors(sqlite_tracking, tmp_path):
    from roughml.errors import TrackingError

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
    rows = predict_folder(image_folder, uri)
    assert sorted(r.status for r in rows) == ["error", "error", "error", "ok", "ok", "ok"]
