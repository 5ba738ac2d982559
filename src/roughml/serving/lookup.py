"""Reading the model registry: which version is which, and the URI to predict with.

Why a module of its own: ``roughml predict`` only reads the registry (an alias, a version, a stage
name that stands for an alias) while the register stage writes it (:mod:`roughml.serving.registry`);
both share the names below. Roles are MLflow 3 aliases: ``production`` is the champion,
``challenger`` the last version the register stage decided on. Registry stages are deprecated in
MLflow 3: roughml never sets them, reads ``--model-stage Production`` as alias ``production`` and
``Staging`` as ``challenger``, and still recognises a champion that an older roughml marked by the
stage ``Production`` only.
"""

from __future__ import annotations

import math
from typing import Iterable

from roughml.core.errors import TrackingError
from roughml.serving.tracking import first_line

PRODUCTION_ALIAS = "production"
CHALLENGER_ALIAS = "challenger"
#: The legacy stage that older roughml versions set on the champion (read, never set).
LEGACY_PRODUCTION_STAGE = "Production"
STAGES = ("None", "Staging", "Production", "Archived")
#: What ``--model-stage`` means now that stages are deprecated: the alias of the same role.
STAGE_ALIASES = {"Production": PRODUCTION_ALIAS, "Staging": CHALLENGER_ALIAS}

#: Test rms of a version, and the digest (md5) of the test split it was measured on.
TAG_TEST_RMS = "roughml.test_rms"
TAG_TEST_SPLIT = "roughml.test_split_digest"
METRIC_TEST_RMS = "test_rms"


# --- reading versions -----------------------------------------------------------------------------

def client():
    """An MLflow client for the configured tracking and registry URIs."""
    import mlflow

    return mlflow.MlflowClient()


def is_missing(exc: Exception) -> bool:
    """True when an MLflow error means 'no such resource'."""
    code = getattr(exc, "error_code", "")
    return code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND") or "not found" in str(exc).lower() \
        or "does not exist" in str(exc).lower()


def to_float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def legacy_stage(mv) -> str | None:
    """The version's registry stage when an older roughml (or a user) set one, else None."""
    stage = getattr(mv, "current_stage", None) or "None"
    return None if stage == "None" else stage


def describe_versions(versions: Iterable, aliases: dict | None = None) -> str:
    """'1 (stage Archived), 2, 3 (aliases challenger, production)' for errors; 'none' when empty.

    ``aliases`` maps alias -> version (``RegisteredModel.aliases``): search results of the
    registry do not carry the aliases of each version.
    """
    by_version: dict[str, list[str]] = {}
    for alias, number in (aliases or {}).items():
        by_version.setdefault(str(number), []).append(alias)
    parts = []
    for mv in sorted(versions, key=lambda v: int(v.version)):
        names = sorted(set(by_version.get(str(mv.version), [])) | set(getattr(mv, "aliases", []) or []))
        notes = [("alias " if len(names) == 1 else "aliases ") + ", ".join(names)] if names else []
        if legacy_stage(mv):
            notes.append(f"stage {legacy_stage(mv)}")
        parts.append(f"{mv.version} ({'; '.join(notes)})" if notes else str(mv.version))
    return ", ".join(parts) if parts else "none"


def list_versions(model_name: str) -> list:
    """All versions of ``model_name``."""
    from mlflow.exceptions import MlflowException

    try:
        quoted = model_name.replace("'", "\\'")
        return list(client().search_model_versions(f"name='{quoted}'"))
    except MlflowException as exc:
        raise TrackingError(f"cannot list versions of model {model_name!r}: {first_line(exc)}") from None


def aliases_of(registered) -> dict[str, str]:
    """alias -> version of a RegisteredModel."""
    return {str(k): str(v) for k, v in dict(getattr(registered, "aliases", {}) or {}).items()}


def require_model(model_name: str):
    """Return the registered model or raise 'no model named X registered'."""
    from mlflow.exceptions import MlflowException
    import mlflow

    try:
        return client().get_registered_model(model_name)
    except MlflowException as exc:
        if is_missing(exc):
            raise TrackingError(f"no model named {model_name!r} is registered in "
                                f"{mlflow.get_registry_uri()}") from None
        raise TrackingError(f"cannot read model {model_name!r} from the registry: {first_line(exc)}") from None


def version_rms(mv) -> float:
    """Test rms of a model version: its ``roughml.test_rms`` tag, else its run's ``test_rms`` metric."""
    from mlflow.exceptions import MlflowException

    tags = dict(getattr(mv, "tags", {}) or {})
    if TAG_TEST_RMS in tags:
        value = to_float(tags[TAG_TEST_RMS])
        if math.isfinite(value):
            return value
    if getattr(mv, "run_id", None):
        try:
            run = client().get_run(mv.run_id)
        except MlflowException:
            return math.nan
        return to_float(run.data.metrics.get(METRIC_TEST_RMS))
    return math.nan


def current_champion(model_name: str, exclude_version: str | None = None):
    """The serving version: the one holding alias ``production``.

    A registry promoted by an older roughml may have its champion only in the legacy stage
    ``Production``; the newest such version is the champion then.
    """
    versions = [mv for mv in list_versions(model_name) if str(mv.version) != str(exclude_version)]
    serving = aliases_of(require_model(model_name)).get(PRODUCTION_ALIAS)
    by_alias = [mv for mv in versions if str(mv.version) == serving]
    if by_alias:
        return by_alias[0]
    staged = [mv for mv in versions if legacy_stage(mv) == LEGACY_PRODUCTION_STAGE]
    return max(staged, key=lambda mv: int(mv.version)) if staged else None


def version_of_run(model_name: str, run_id: str) -> str | None:
    """Newest version of ``model_name`` registered from ``run_id``, or None.

    Why: ``dvc repro`` re-runs the register stage whenever its inputs change (for example a
    re-evaluation of the same trained model); that must re-decide for the existing version, not
    add a duplicate version of the same run to the registry.
    """
    same_run = [mv for mv in list_versions(model_name) if getattr(mv, "run_id", None) == run_id]
    return str(max(int(mv.version) for mv in same_run)) if same_run else None


# --- resolution ------------------------------------------------------------------------------------

def alias_for_stage(stage: str) -> str:
    """The alias that replaces a registry stage: Production -> production, Staging -> challenger.

    Raises
    ------
    TrackingError
        For an unknown stage, and for Archived and None, which no alias stands for.
    """
    wanted = next((known for known in STAGES if stage.strip().lower() == known.lower()), None)
    if wanted is None:
        raise TrackingError(f"unknown model stage {stage!r}; expected one of {', '.join(STAGES)}")
    if wanted not in STAGE_ALIASES:
        raise TrackingError(f"model stage {wanted!r} has no alias (registry stages are deprecated in MLflow 3; "
                            f"roughml reads stage Production as alias production and Staging as challenger): "
                            f"choose a version or an alias")
    return STAGE_ALIASES[wanted]


def alias_stage(alias: str) -> str | None:
    """The registry stage an alias stands for (production -> Production), else None."""
    return next((stage for stage, name in STAGE_ALIASES.items() if name == alias), None)


def resolve_model_uri(model_name: str, *, stage: str | None = None, alias: str | None = None,
                      version: str | int | None = None, uri: str | None = None) -> str:
    """Turn the user's choice of model into a concrete URI, with one clear line on failure.

    At most one of ``stage``, ``alias``, ``version``, ``uri`` may be given; none means alias
    ``production``. A stage stands for its alias (:func:`alias_for_stage`). Aliases and versions
    are resolved to ``models:/<name>/<version>`` so the version that served a prediction is
    explicit and cannot change mid-run; ``uri`` is returned unchanged (any MLflow model URI,
    ``models:/<name>@<alias>`` included, or a local path).

    Raises
    ------
    TrackingError
        No model named X registered; a stage without an alias; unknown alias (known aliases
        listed); unknown version (existing versions listed).
    """
    chosen = [name for name, value in (("stage", stage), ("alias", alias), ("version", version),
                                       ("uri", uri)) if value is not None]
    if len(chosen) > 1:
        raise TrackingError(f"choose only one of model stage, alias, version or URI (got {', '.join(chosen)})")
    if uri is not None:
        if not str(uri).strip():
            raise TrackingError("empty model URI")
        return str(uri).strip()
    if stage is not None:
        alias = alias_for_stage(stage)
    registered = require_model(model_name)
    if version is not None:
        return _uri_of_version(model_name, version, registered)
    return _uri_of_alias(model_name, alias if alias is not None else PRODUCTION_ALIAS, registered, stage)


def _uri_of_alias(model_name: str, alias: str, registered, stage: str | None = None) -> str:
    """``models:/<name>/<version>`` of the version holding ``alias``; the known aliases when none."""
    from mlflow.exceptions import MlflowException

    try:
        mv = client().get_model_version_by_alias(model_name, alias)
    except MlflowException as exc:
        if not is_missing(exc) and "alias" not in str(exc).lower():
            raise TrackingError(f"cannot resolve alias {alias!r}: {first_line(exc)}") from None
        known = aliases_of(registered)
        listing = ", ".join(f"{a} -> v{v}" for a, v in sorted(known.items())) or "none"
        for_stage = f", which stands for stage {alias_stage(alias)!r}" if stage is not None else ""
        raise TrackingError(f"model {model_name!r} has no alias {alias!r}{for_stage} (aliases: {listing}; "
                            f"versions: {describe_versions(list_versions(model_name), known)})") from None
    return f"models:/{model_name}/{mv.version}"


def _uri_of_version(model_name: str, version: str | int, registered) -> str:
    """``models:/<name>/<version>`` once the version is known to exist; the versions when not."""
    from mlflow.exceptions import MlflowException

    text = str(version).strip()
    if not text.isdigit():
        raise TrackingError(f"model version must be a positive integer, got {version!r}")
    try:
        mv = client().get_model_version(model_name, text)
    except MlflowException as exc:
        if not is_missing(exc):
            raise TrackingError(f"cannot read version {text} of {model_name!r}: {first_line(exc)}") from None
        raise TrackingError(f"model {model_name!r} has no version {text} "
                            f"(versions: {describe_versions(list_versions(model_name), aliases_of(registered))})") from None
    return f"models:/{model_name}/{mv.version}"
