"""``mlflow models serve`` for real: a tiny registered roughml model behind MLflow's scoring server,
asked over HTTP with inline base64 images, with file paths and with inference params.

Why: the README promises that the registered model serves the same rows over REST as
``roughml predict`` writes; only a real server (uvicorn, JSON parsing, the signature's schema and
params enforcement) shows that the payloads documented there work.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from roughml.serving.rows import COLUMNS
from tests.conftest import free_port, wait_until_answers
from tests.serving.conftest import register_tiny_model

BIN = Path(sys.executable).parent
#: Bounded waits: the server's start (TensorFlow import and model load) and each request.
START_TIMEOUT_S = 240.0
REQUEST_TIMEOUT_S = 120.0


def _wall_png(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    h = 32 + np.cumsum(rng.normal(0.0, 1.0, 64))
    Image.fromarray(np.where(np.arange(64)[None, :] < (h - h.mean() + 32)[:, None], 40, 210).astype(np.uint8)).save(path)
    return path


def _post(url: str, payload: dict) -> list[dict]:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            return json.loads(response.read())["predictions"]
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"HTTP {exc.code}: {exc.read()[:2000]!r}") from None


def _stop(proc: subprocess.Popen) -> None:
    """Terminate the server's process group (mlflow and the uvicorn it starts); kill if it lingers."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
    try:  # uvicorn may outlive its parent for a moment
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@pytest.fixture()
def served_model(sqlite_tracking, tmp_path):
    """``mlflow models serve -m models:/roughml@production`` on a free 127.0.0.1 port; yields its URL."""
    register_tiny_model(tmp_path, "roughml-serve-test")
    port = free_port()
    exe = BIN / "mlflow"
    command = [str(exe), "models", "serve", "-m", "models:/roughml@production", "--env-manager", "local",
               "-h", "127.0.0.1", "-p", str(port)]
    env = {**os.environ, "MLFLOW_TRACKING_URI": sqlite_tracking,
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}  # uvicorn is found on PATH
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    try:
        wait_until_answers(proc, f"http://127.0.0.1:{port}/ping", log, START_TIMEOUT_S)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)


@pytest.mark.slow
def test_mlflow_models_serve_base64_paths_and_params(served_model, tmp_path):
    good = _wall_png(tmp_path / "wall.png", seed=1)
    b64 = base64.b64encode(good.read_bytes()).decode("ascii")
    garbage = base64.b64encode(b"not an image").decode("ascii")
    url = served_model + "/invocations"

    inline = _post(url, {"dataframe_records": [{"image": b64}, {"image": garbage}]})
    assert [row["status"] for row in inline] == ["ok", "error"]
    assert all(set(row) == set(COLUMNS) for row in inline)
    assert inline[0]["path"] == "image[0]" and inline[0]["orientation"] == "vertical/right"
    assert np.isfinite(inline[0]["zeta"]) and inline[0]["zeta_std"] > 0
    assert np.isfinite(inline[0]["zeta_classical"]) and (inline[0]["width"], inline[0]["height"]) == (64, 64)
    assert inline[1]["message"]

    by_path = _post(url, {"dataframe_records": [{"path": str(good)}, {"path": str(tmp_path / "missing.png")}]})
    assert [row["path"] for row in by_path] == [str(good), str(tmp_path / "missing.png")]
    assert [row["status"] for row in by_path] == ["ok", "error"]
    assert by_path[0]["zeta"] == pytest.approx(inline[0]["zeta"], abs=1e-6)

    # a full frame with two bubbles: one row per wall, in the image's pixel coordinates
    from PIL import Image

    from roughml.physics.frames import render_frame

    frame = render_frame(np.random.default_rng(31), bubbles=(2, 2), radius_px=(90, 200), open_walls=(0, 0),
                         allow_cut=False)
    Image.fromarray(frame.image).save(tmp_path / "frame.png")
    walls = _post(url, {"dataframe_records": [{"path": str(tmp_path / "frame.png")}]})
    assert [row["wall"] for row in walls if row["status"] == "ok"] == [1, 2]
    assert all(row["kind"] == "closed" for row in walls if row["status"] == "ok")
    for truth in frame.walls:
        assert min(np.hypot(row["x"] - truth.x, row["y"] - truth.y) for row in walls if row["status"] == "ok") < 10

    fast = _post(url, {"dataframe_records": [{"path": str(good)}], "params": {"classical": False}})
    assert fast[0]["status"] == "ok" and fast[0]["zeta"] == pytest.approx(inline[0]["zeta"], abs=1e-6)
    assert fast[0]["zeta_classical"] is None or not np.isfinite(fast[0]["zeta_classical"])
