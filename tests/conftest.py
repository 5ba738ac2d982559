"""Shared MLflow fixtures: a temporary sqlite store, and a real ``mlflow server`` on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

_TRACKING_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_answers(proc: subprocess.Popen, url: str, log: Path, timeout_s: float) -> None:
    """Poll ``url`` until it answers 200; fail with the server's log when it exits or times out.

    Shared by the fixtures that start real servers (``mlflow server``, ``mlflow models serve``).
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{url}: server exited with {proc.returncode}: "
                                 f"{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url}: no answer within {timeout_s:.0f} s: {log.read_text(errors='replace')[-3000:]}")


def _tracking_at(uri: str, workdir: Path, monkeypatch: pytest.MonkeyPatch):
    """Run one test in ``workdir`` with env and MLflow's in-process globals pointing at ``uri``.

    Yields ``uri``; afterwards ends any run the test left open and restores the previous URIs
    (monkeypatch restores the env and the working directory).
    """
    import mlflow

    monkeypatch.chdir(workdir)
    previous = mlflow.get_tracking_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    yield uri
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(previous)
    mlflow.set_registry_uri(previous)


@pytest.fixture()
def sqlite_tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh sqlite tracking + registry store in ``tmp_path``; yields its URI.

    Runs write artifacts under ``tmp_path`` (the working directory is moved there, since a SQL
    store's default artifact root is ``./mlruns``), and the previous URI is restored afterwards.
    """
    yield from _tracking_at(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path, monkeypatch)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory):
    """A real ``mlflow server`` (sqlite backend, proxied artifacts) on a free 127.0.0.1 port.

    Yields its ``http://127.0.0.1:<port>`` URI; the process is terminated at the end of the session.
    """
    root = tmp_path_factory.mktemp("mlflow_server")
    port = free_port()
    exe = Path(sys.executable).with_name("mlflow")
    command = [str(exe) if exe.exists() else shutil.which("mlflow") or "mlflow", "server",
               "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
               "--artifacts-destination", str(root / "artifacts"),
               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    env = {k: v for k, v in os.environ.items() if k not in _TRACKING_ENV}
    log = open(root / "server.log", "wb")
    proc = subprocess.Popen(command, cwd=root, stdout=log, stderr=subprocess.STDOUT, env=env)
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(proc, uri + "/health", root / "server.log", timeout_s=90.0)
        yield uri
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture()
def server_tracking(mlflow_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Point MLflow at the session's server for one test (restored afterwards); yields the URI."""
    yield from _tracking_at(mlflow_server, tmp_path, monkeypatch)
