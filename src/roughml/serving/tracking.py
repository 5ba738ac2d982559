"""Where MLflow runs and models go, and a quick, readable failure when that place is unreachable.

Why: ``mlflow ui`` started in the repository root reads ``sqlite:///mlflow.db`` (MLflow 3's default
backend) and the client writes artifacts of a SQL store to ``./mlruns`` (absolute paths are stored
in the experiment), so with the default chosen here every run of ``dvc repro`` shows up in the UI
without configuration. For a remote server the MLflow client by default retries each request with
exponential back-off for minutes; a user who mistyped a URI should instead get one line within
seconds, so reachability is checked with a single plain HTTP request first and the client's retry
budget is capped.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
import warnings
from pathlib import Path

from roughml.core.errors import TrackingError

#: Environment variable MLflow itself reads for the tracking URI.
ENV_TRACKING_URI = "MLFLOW_TRACKING_URI"
#: File name of the default local store (the one ``mlflow ui`` opens in the current directory).
DEFAULT_DB_NAME = "mlflow.db"
#: Seconds allowed for the reachability probe of an HTTP tracking server.
PROBE_TIMEOUT_S = 5.0

# Client-side retry policy for HTTP servers, applied only where the user has not set their own:
# MLflow's default (7 retries, factor 2, 120 s timeout) can stall a CLI call for several minutes.
_HTTP_CLIENT_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
}

_NOISY_LOGGERS = ("mlflow", "alembic", "urllib3.connectionpool", "git", "databricks")


#: Where DVC runs an experiment outside the workspace (``dvc exp run --temp`` or ``--queue``):
#: ``<repository>/.dvc/tmp/exps/<temporary copy>/``.
_DVC_TEMP_WORKSPACE = (".dvc", "tmp", "exps")


def repository_root(cwd: str | os.PathLike | None = None) -> Path:
    """The repository whose store a run belongs to: ``cwd`` itself, or, inside a temporary DVC
    experiment workspace, the repository that holds it.

    Why: a temporary workspace is deleted after the experiment; a store created there (with every
    model "promoted" against an empty registry) would vanish with it.
    """
    here = Path(cwd if cwd is not None else Path.cwd()).resolve()
    parts = here.parts
    for start in range(len(parts) - len(_DVC_TEMP_WORKSPACE) + 1):
        if parts[start:start + len(_DVC_TEMP_WORKSPACE)] == _DVC_TEMP_WORKSPACE:
            return Path(*parts[:start])
    return here


def resolve_tracking_uri(explicit: str | None = None) -> str:
    """Pick the tracking URI: ``explicit`` > ``$MLFLOW_TRACKING_URI`` > ``sqlite:///<repo>/mlflow.db``.

    The default is absolute, in :func:`repository_root`, so that a stage run from another
    directory or a temporary DVC experiment workspace never silently creates a second store.
    """
    for candidate in (explicit, os.environ.get(ENV_TRACKING_URI)):
        if candidate is not None and candidate.strip():
            return candidate.strip()
    return f"sqlite:///{repository_root() / DEFAULT_DB_NAME}"


def is_http(uri: str) -> bool:
    """True for tracking URIs served over HTTP(S) (a tracking server), False for local stores."""
    return uri.lower().startswith(("http://", "https://"))


def quiet_mlflow() -> None:
    """Silence MLflow's informational logs and warnings that would confuse CLI users.

    Examples: alembic schema-migration lines on every new sqlite store, "Registered model ... already
    exists", the FutureWarning on model stages, the "View run at" URL banner, and the pip-version
    inference warnings of ``log_model``. Real errors still raise.
    """
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # Appended, not prepended: filters set by the caller (the test suite turns MLflow's
    # FutureWarnings into errors) keep precedence; a plain CLI run has none and stays quiet.
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"mlflow(\.|$)", append=True)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow(\.|$)", append=True)
    warnings.filterwarnings("ignore", message=r"(?s).*[Mm]odel registry stages", append=True)


def probe_http(uri: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Raise TrackingError unless ``<uri>/health`` answers 200 within ``timeout`` seconds.

    A plain ``urllib`` request (no retries) so that a closed port or a wrong host fails at once.
    """
    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http only)
            status = response.status
    except urllib.error.HTTPError as exc:
        raise TrackingError(f"cannot reach the MLflow tracking server at {uri}: "
                            f"/health answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackingError(f"cannot reach the MLflow tracking server at {uri}: {reason}") from None
    if status != 200:
        raise TrackingError(f"cannot reach the MLflow tracking server at {uri}: /health answered HTTP {status}")


def configure(explicit: str | None = None) -> str:
    """Point MLflow's tracking and registry at the resolved URI and return it.

    Raises
    ------
    TrackingError
        When an HTTP(S) tracking server does not answer its health check within seconds, or a
        local store cannot be created.
    """
    quiet_mlflow()
    uri = resolve_tracking_uri(explicit)
    if is_http(uri):
        for key, value in _HTTP_CLIENT_DEFAULTS.items():
            os.environ.setdefault(key, value)
        probe_http(uri)
    elif uri.startswith("sqlite:///"):
        db_path = Path(uri[len("sqlite:///"):])
        if not db_path.parent.exists():
            raise TrackingError(f"cannot open the MLflow store {uri}: folder {db_path.parent} does not exist")
    import mlflow  # local import: `roughml --help` stays fast

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def ensure_experiment(name: str) -> str:
    """Return the id of experiment ``name``, creating it (and restoring it if deleted).

    Refuses an experiment whose artifacts live behind a server proxy (``mlflow-artifacts:``) when
    the client talks to a local store directly, because the upload would fail much later with an
    obscure error.
    """
    import mlflow
    from mlflow.entities import LifecycleStage
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    try:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            return client.create_experiment(name)
        if experiment.lifecycle_stage == LifecycleStage.DELETED:
            client.restore_experiment(experiment.experiment_id)
    except MlflowException as exc:
        raise TrackingError(f"MLflow experiment {name!r}: {first_line(exc)}") from None
    location = experiment.artifact_location or ""
    if location.startswith("mlflow-artifacts:") and not is_http(mlflow.get_tracking_uri()):
        raise TrackingError(
            f"MLflow experiment {name!r} stores artifacts through a tracking server ({location}); "
            f"use --tracking-uri http://... of that server, or another experiment name")
    return experiment.experiment_id


def first_line(exc: BaseException) -> str:
    """The first line of an MLflow error's message, for a one-line CLI error.

    Why: MLflow errors often carry a JSON body (REST errors) or a whole traceback; the user needs
    the reason, not the dump. A JSON body's ``message`` field is used when there is one; an empty
    message gives the exception's type name. Every serving module reports MLflow failures through
    this one helper so that they all read alike.
    """
    message = str(getattr(exc, "message", None) or exc)
    try:
        message = str(json.loads(message).get("message", message))
    except (ValueError, AttributeError):
        pass  # not JSON, or JSON without a message field: the text itself
    text = message.strip()
    return text.splitlines()[0] if text else type(exc).__name__
