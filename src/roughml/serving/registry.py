"""Model registry: champion/challenger promotion and resolution of the model to predict with.

Why: every ``dvc repro`` trains a new model, but a retrain on other data or with a worse seed must
not silently replace a better model in production. A new version (the *challenger*) therefore
becomes Production only when its headline test rms error of ζ beats the current Production
version (the *champion*). Both the legacy ``Production`` stage (still what ``models:/name/Production``
and many deployment tools read) and the MLflow 3 alias ``production`` are moved together, and the
decision with both numbers is written on the new version and its run, so the registry itself
explains why a version is or is not serving.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from dataclasses import dataclass
from typing import Iterable, Iterator

from roughml.core.errors import TrackingError
from roughml.serving.tracking import first_line

PRODUCTION_STAGE = "Production"
PRODUCTION_ALIAS = "production"
STAGES = ("None", "Staging", "Production", "Archived")

#: Tag / metric keys written on model versions and runs.
TAG_TEST_RMS = "roughml.test_rms"
TAG_DECISION = "roughml.decision"
TAG_CHAMPION_VERSION = "roughml.champion_version"
TAG_CHAMPION_RMS = "roughml.champion_rms"
TAG_REASON = "roughml.reason"
TAG_REGISTERED_VERSION = "roughml.registered_version"
METRIC_TEST_RMS = "test_rms"


@dataclass(frozen=True)
class Decision:
    """Outcome of registering a challenger.

    ``champion_version``/``champion_rms`` describe the Production version *before* the decision
    (None when there was none; ``champion_rms`` is NaN when that version has no recorded rms).
    """

    version: str
    promoted: bool
    challenger_rms: float
    champion_version: str | None
    champion_rms: float | None
    reason: str


# --- small helpers ---------------------------------------------------------------------------------

def _client():
    import mlflow

    return mlflow.MlflowClient()


def _is_missing(exc: Exception) -> bool:
    """True when an MLflow error means 'no such resource'."""
    code = getattr(exc, "error_code", "")
    return code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND") or "not found" in str(exc).lower() \
        or "does not exist" in str(exc).lower()


def _to_float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def describe_versions(versions: Iterable, aliases: dict | None = None) -> str:
    """'1 (Archived), 2 (Production, alias production)' for error messages; 'none' when empty.

    ``aliases`` maps alias -> version (``RegisteredModel.aliases``): search results of the
    registry do not carry the aliases of each version.
    """
    by_version: dict[str, list[str]] = {}
    for alias, number in (aliases or {}).items():
        by_version.setdefault(str(number), []).append(alias)
    parts = []
    for mv in sorted(versions, key=lambda v: int(v.version)):
        names = sorted(set(by_version.get(str(mv.version), [])) | set(getattr(mv, "aliases", []) or []))
        alias_text = f", alias {'/'.join(names)}" if names else ""
        parts.append(f"{mv.version} ({mv.current_stage}{alias_text})")
    return ", ".join(parts) if parts else "none"


def list_versions(model_name: str) -> list:
    """All versions of ``model_name`` (any stage)."""
    from mlflow.exceptions import MlflowException

    try:
        with _silenced():
            quoted = model_name.replace("'", "\\'")
            return list(_client().search_model_versions(f"name='{quoted}'"))
    except MlflowException as exc:
        raise TrackingError(f"cannot list versions of model {model_name!r}: {first_line(exc)}") from None


@contextlib.contextmanager
def _silenced() -> Iterator[None]:
    """Ignore MLflow's FutureWarnings about model stages (deprecated, yet what many tools still read)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yield


def _aliases(registered) -> dict[str, str]:
    """alias -> version of a RegisteredModel."""
    return {str(k): str(v) for k, v in dict(getattr(registered, "aliases", {}) or {}).items()}


def _require_model(model_name: str):
    """Return the registered model or raise 'no model named X registered'."""
    from mlflow.exceptions import MlflowException
    import mlflow

    try:
        return _client().get_registered_model(model_name)
    except MlflowException as exc:
        if _is_missing(exc):
            raise TrackingError(f"no model named {model_name!r} is registered in "
                                f"{mlflow.get_registry_uri()}") from None
        raise TrackingError(f"cannot read model {model_name!r} from the registry: {first_line(exc)}") from None


def version_rms(mv) -> float:
    """Test rms of a model version: its ``roughml.test_rms`` tag, else its run's ``test_rms`` metric."""
    from mlflow.exceptions import MlflowException

    tags = dict(getattr(mv, "tags", {}) or {})
    if TAG_TEST_RMS in tags:
        value = _to_float(tags[TAG_TEST_RMS])
        if math.isfinite(value):
            return value
    if getattr(mv, "run_id", None):
        try:
            run = _client().get_run(mv.run_id)
        except MlflowException:
            return math.nan
        return _to_float(run.data.metrics.get(METRIC_TEST_RMS))
    return math.nan


def current_champion(model_name: str, exclude_version: str | None = None):
    """The serving version: the one holding alias ``production``, else the newest in stage Production."""
    versions = [mv for mv in list_versions(model_name) if str(mv.version) != str(exclude_version)]
    serving = _aliases(_require_model(model_name)).get(PRODUCTION_ALIAS)
    by_alias = [mv for mv in versions if str(mv.version) == serving]
    if by_alias:
        return by_alias[0]
    staged = [mv for mv in versions if (mv.current_stage or "").lower() == PRODUCTION_STAGE.lower()]
    return max(staged, key=lambda mv: int(mv.version)) if staged else None


def version_of_run(model_name: str, run_id: str) -> str | None:
    """Newest version of ``model_name`` registered from ``run_id``, or None.

    Why: ``dvc repro`` re-runs the register stage whenever its inputs change (for example a
    re-evaluation of the same trained model); that must re-decide for the existing version, not
    add a duplicate version of the same run to the registry.
    """
    same_run = [mv for mv in list_versions(model_name) if getattr(mv, "run_id", None) == run_id]
    return str(max(int(mv.version) for mv in same_run)) if same_run else None


def _model_source(run_id: str, artifact_path_or_model_uri: str) -> str:
    """A model URI MLflow can register: URIs pass through, bare artifact paths become runs:/ URIs."""
    if ":/" in artifact_path_or_model_uri:
        return artifact_path_or_model_uri
    return f"runs:/{run_id}/{artifact_path_or_model_uri.strip('/')}"


# --- registration ----------------------------------------------------------------------------------

def decide(challenger_rms: float, champion_version: str | None, champion_rms: float | None) -> tuple[bool, str]:
    """Pure champion/challenger rule: promote on a strictly lower finite rms, or when no champion.

    A challenger without a finite rms is never promoted (its evaluation failed); a champion without
    a recorded rms cannot be compared and is replaced by any challenger that has one.
    """
    if not math.isfinite(challenger_rms):
        return False, f"challenger test_rms is {challenger_rms}: not promoted"
    if champion_version is None:
        return True, "no Production version yet: challenger promoted"
    if champion_rms is None or not math.isfinite(champion_rms):
        return True, f"champion version {champion_version} has no recorded test_rms: challenger promoted"
    if challenger_rms < champion_rms:
        return True, (f"challenger test_rms {challenger_rms:.5f} < champion v{champion_version} "
                      f"test_rms {champion_rms:.5f}: promoted")
    return False, (f"challenger test_rms {challenger_rms:.5f} >= champion v{champion_version} "
                   f"test_rms {champion_rms:.5f}: champion kept")


def _ensure_registered_model(client, model_name: str) -> None:
    """Create the registered model on its first registration (with a one-line description)."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(model_name)
    except MlflowException as exc:
        if not _is_missing(exc):
            raise
        client.create_registered_model(
            model_name, description="Roughness exponent ζ of interfaces from images (roughml).")


def _register_version(run_id: str, model_name: str, artifact_path_or_model_uri: str,
                      challenger_rms: float) -> str:
    """Register the run's model as a new version of ``model_name``; return the version number."""
    import mlflow

    with _silenced(), contextlib.redirect_stderr(io.StringIO()):  # "Created version ..." chatter
        mv = mlflow.register_model(_model_source(run_id, artifact_path_or_model_uri), model_name,
                                   tags={TAG_TEST_RMS: repr(challenger_rms)})
    return str(mv.version)


def _redecide(existing: str | None, challenger_rms: float, champion_version: str | None,
              champion_rms: float | None) -> tuple[bool, str]:
    """:func:`decide`, told when the run was registered before as version ``existing``.

    A version that already serves stays as it is (no new transition, no archived champion).
    """
    if existing is not None and existing == champion_version:
        return True, f"run already registered as version {existing}, which is Production: unchanged"
    promoted, reason = decide(challenger_rms, champion_version, champion_rms)
    if existing is not None:
        reason = f"run already registered as version {existing}; {reason}"
    return promoted, reason


def _promote(client, model_name: str, version: str) -> None:
    """Move stage ``Production`` (archiving the previous champion) and alias ``production``."""
    with _silenced():
        client.transition_model_version_stage(model_name, version, PRODUCTION_STAGE,
                                              archive_existing_versions=True)
    client.set_registered_model_alias(model_name, PRODUCTION_ALIAS, version)


def _record(client, run_id: str, model_name: str, decision: Decision) -> None:
    """Write the decision on the model version and on its run, so the registry explains itself."""
    tags = {
        TAG_TEST_RMS: repr(decision.challenger_rms),
        TAG_DECISION: "promoted" if decision.promoted else "rejected",
        TAG_CHAMPION_VERSION: decision.champion_version or "",
        TAG_CHAMPION_RMS: "" if decision.champion_rms is None else repr(decision.champion_rms),
        TAG_REASON: decision.reason,
    }
    for key, value in tags.items():
        client.set_model_version_tag(model_name, decision.version, key, value)
        client.set_tag(run_id, key, value)
    client.set_tag(run_id, TAG_REGISTERED_VERSION, decision.version)
    client.log_metric(run_id, "registry_promoted", 1.0 if decision.promoted else 0.0)
    if decision.champion_rms is not None and math.isfinite(decision.champion_rms):
        client.log_metric(run_id, "champion_test_rms", decision.champion_rms)


def _register_and_decide(client, run_id: str, model_name: str, artifact_path_or_model_uri: str,
                         challenger_rms: float) -> Decision:
    """The registration steps of :func:`register_and_promote`; MLflow errors propagate."""
    _ensure_registered_model(client, model_name)
    existing = version_of_run(model_name, run_id)
    champion = current_champion(model_name)  # before registering: the challenger is not one yet
    champion_version = str(champion.version) if champion is not None else None
    champion_rms = version_rms(champion) if champion is not None else None
    if existing is None:
        version = _register_version(run_id, model_name, artifact_path_or_model_uri, challenger_rms)
    else:
        version = existing
    promoted, reason = _redecide(existing, challenger_rms, champion_version, champion_rms)
    if promoted:
        _promote(client, model_name, version)
    decision = Decision(version=version, promoted=promoted, challenger_rms=challenger_rms,
                        champion_version=champion_version, champion_rms=champion_rms, reason=reason)
    _record(client, run_id, model_name, decision)
    return decision


def register_and_promote(run_id: str, model_name: str, artifact_path_or_model_uri: str,
                         test_rms: float) -> Decision:
    """Register the run's model as a new version and promote it if it beats the champion.

    A run that is already registered keeps its version (no duplicate): the decision is made again
    for that version, and a version that already serves stays as it is.

    Parameters
    ----------
    run_id : str
        The training run (evaluate has logged ``test_rms`` on it); decision tags go there too.
    model_name : str
        Registered model name (``register.model_name`` of params.yaml).
    artifact_path_or_model_uri : str
        ``model_info.model_uri`` of the logged pyfunc model (``models:/m-...`` in MLflow 3), or
        an artifact path inside the run (``model``) which becomes ``runs:/<run_id>/model``.
    test_rms : float
        Headline rms error of ζ on the test split (lower is better).

    Raises
    ------
    TrackingError
        When the registry cannot be written.
    """
    from mlflow.exceptions import MlflowException

    client = _client()
    challenger_rms = float(test_rms)
    try:
        return _register_and_decide(client, run_id, model_name, artifact_path_or_model_uri, challenger_rms)
    except MlflowException as exc:
        raise TrackingError(f"cannot register model {model_name!r}: {first_line(exc)}") from None


# --- resolution ------------------------------------------------------------------------------------

def _normalise_stage(stage: str) -> str:
    for known in STAGES:
        if stage.strip().lower() == known.lower():
            return known
    raise TrackingError(f"unknown model stage {stage!r}; expected one of {', '.join(STAGES)}")


def resolve_model_uri(model_name: str, *, stage: str | None = None, alias: str | None = None,
                      version: str | int | None = None, uri: str | None = None) -> str:
    """Turn the user's choice of model into a concrete URI, with one clear line on failure.

    At most one of ``stage``, ``alias``, ``version``, ``uri`` may be given; none means stage
    ``Production``. Stage, alias and version are resolved to ``models:/<name>/<version>`` so the
    version that served a prediction is explicit and cannot change mid-run; ``uri`` is returned
    unchanged (any MLflow model URI or local path).

    Raises
    ------
    TrackingError
        No model named X registered; no version in the stage (the existing versions are listed);
        unknown alias (known aliases listed); unknown version (existing versions listed).
    """
    chosen = [name for name, value in (("stage", stage), ("alias", alias), ("version", version),
                                       ("uri", uri)) if value is not None]
    if len(chosen) > 1:
        raise TrackingError(f"choose only one of model stage, alias, version or URI (got {', '.join(chosen)})")
    if uri is not None:
        if not str(uri).strip():
            raise TrackingError("empty model URI")
        return str(uri).strip()
    registered = _require_model(model_name)
    if alias is not None:
        return _uri_of_alias(model_name, alias, registered)
    if version is not None:
        return _uri_of_version(model_name, version, registered)
    return _uri_of_stage(model_name, stage if stage is not None else PRODUCTION_STAGE, registered)


def _uri_of_alias(model_name: str, alias: str, registered) -> str:
    """``models:/<name>/<version>`` of the version holding ``alias``; the known aliases when none."""
    from mlflow.exceptions import MlflowException

    try:
        mv = _client().get_model_version_by_alias(model_name, alias)
    except MlflowException as exc:
        if not _is_missing(exc) and "alias" not in str(exc).lower():
            raise TrackingError(f"cannot resolve alias {alias!r}: {first_line(exc)}") from None
        known = _aliases(registered)
        listing = ", ".join(f"{a} -> v{v}" for a, v in sorted(known.items())) or "none"
        raise TrackingError(f"model {model_name!r} has no alias {alias!r} (aliases: {listing})") from None
    return f"models:/{model_name}/{mv.version}"


def _uri_of_version(model_name: str, version: str | int, registered) -> str:
    """``models:/<name>/<version>`` once the version is known to exist; the versions when not."""
    from mlflow.exceptions import MlflowException

    text = str(version).strip()
    if not text.isdigit():
        raise TrackingError(f"model version must be a positive integer, got {version!r}")
    try:
        mv = _client().get_model_version(model_name, text)
    except MlflowException as exc:
        if not _is_missing(exc):
            raise TrackingError(f"cannot read version {text} of {model_name!r}: {first_line(exc)}") from None
        raise TrackingError(f"model {model_name!r} has no version {text} "
                            f"(versions: {describe_versions(list_versions(model_name), _aliases(registered))})") from None
    return f"models:/{model_name}/{mv.version}"


def _uri_of_stage(model_name: str, stage: str, registered) -> str:
    """``models:/<name>/<version>`` of the newest version in ``stage``; the versions when none."""
    wanted = _normalise_stage(stage)
    versions = list_versions(model_name)
    in_stage = [mv for mv in versions if (mv.current_stage or "None").lower() == wanted.lower()]
    if not in_stage:
        raise TrackingError(f"model {model_name!r} has no version in stage {wanted!r} "
                            f"(versions: {describe_versions(versions, _aliases(registered))})")
    newest = max(in_stage, key=lambda mv: int(mv.version))
    return f"models:/{model_name}/{newest.version}"
