"""Tracking URI resolution, reachability checks and experiments against real MLflow stores."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from roughml.serving import tracking
from roughml.core.errors import TrackingError


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the socket is released


def test_resolve_precedence(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking.resolve_tracking_uri() == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    assert tracking.resolve_tracking_uri() == "http://127.0.0.1:1"
    assert tracking.resolve_tracking_uri("sqlite:///x.db") == "sqlite:///x.db"
    assert tracking.resolve_tracking_uri("  ") == "http://127.0.0.1:1"


@pytest.mark.timeout(60)
def test_unreachable_server_fails_fast(monkeypatch):
    uri = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(TrackingError, match=f"cannot reach the MLflow tracking server at {uri}"):
        tracking.configure(uri)


def test_missing_store_folder(tmp_path):
    with pytest.raises(TrackingError, match="does not exist"):
        tracking.configure(f"sqlite:///{tmp_path / 'nope' / 'mlflow.db'}")


def test_sqlite_experiment_created_once_and_restored(sqlite_tracking, tmp_path):
    import mlflow

    assert tracking.configure() == sqlite_tracking
    assert mlflow.get_tracking_uri() == sqlite_tracking
    exp = tracking.ensure_experiment("roughml")
    assert tracking.ensure_experiment("roughml") == exp
    mlflow.MlflowClient().delete_experiment(exp)
    assert tracking.ensure_experiment("roughml") == exp
    assert mlflow.MlflowClient().get_experiment(exp).lifecycle_stage == "active"
    with mlflow.start_run(experiment_id=exp) as run:
        mlflow.log_text("hello", "note.txt")
    # artifacts of the default SQL store land in ./mlruns, where `mlflow ui` in this folder finds them
    local = Path(run.info.artifact_uri.replace("file://", ""))
    assert (local / "note.txt").read_text() == "hello"
    assert local.resolve().is_relative_to((tmp_path / "mlruns").resolve())


def test_server_configure_and_experiment(server_tracking):
    import mlflow

    assert tracking.configure(server_tracking) == server_tracking
    exp = tracking.ensure_experiment("roughml-tracking-test")
    with mlflow.start_run(experiment_id=exp) as run:
        mlflow.log_metric("m", 1.5)
    assert mlflow.MlflowClient().get_run(run.info.run_id).data.metrics["m"] == 1.5


def test_repository_root_of_a_temporary_dvc_experiment_workspace_is_the_repository(tmp_path):
    """`dvc exp run --temp/--queue` works in <repo>/.dvc/tmp/exps/<copy>: the store is the repo's."""
    from roughml.serving.tracking import repository_root

    workspace = tmp_path / "repo" / ".dvc" / "tmp" / "exps" / "tmpab12" / "sub"
    workspace.mkdir(parents=True)
    assert repository_root(workspace) == (tmp_path / "repo").resolve()
    assert repository_root(tmp_path) == tmp_path.resolve()
