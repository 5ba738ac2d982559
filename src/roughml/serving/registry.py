"""Model registry: champion/challenger promotion of every newly trained model.

Why: every ``dvc repro`` trains a new model, but a retrain on other data or with a worse seed must
not silently replace a better model in production. A new version (the *challenger*) therefore
becomes the *champion* only when its headline test rms error of ζ beats the current champion's on
the same test split. The registry says who is who with MLflow 3 aliases: ``challenger`` is moved
to every version the register stage decides on, ``production`` to the champion, so that
``models:/<name>@production`` always names the serving model. Registry stages are deprecated in
MLflow 3 and are no longer set; a version left in the legacy stage ``Production`` by an older
roughml is archived when the alias moves away from it, so that ``models:/<name>/Production`` fails
instead of serving a stale model. The decision with both numbers is written on the version and its
run, so the registry itself explains why a version is or is not serving. Reading the registry
(the URI to predict with) is :mod:`roughml.serving.lookup`; its public names are re-exported here.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from dataclasses import dataclass
from typing import Callable

from roughml.core.errors import TrackingError
from roughml.serving.lookup import (  # noqa: F401 - also re-exported: the registry's public names
    CHALLENGER_ALIAS, LEGACY_PRODUCTION_STAGE, METRIC_TEST_RMS, PRODUCTION_ALIAS, STAGE_ALIASES, STAGES,
    TAG_TEST_RMS, TAG_TEST_SPLIT, alias_for_stage, alias_stage, aliases_of, current_champion,
    describe_versions, is_missing, legacy_stage, list_versions, resolve_model_uri, version_of_run,
    version_rms)
from roughml.serving.lookup import client as registry_client
from roughml.serving.tracking import first_line

#: Tag / metric keys of the decision, written on model versions and runs.
TAG_DECISION = "roughml.decision"
TAG_CHAMPION_VERSION = "roughml.champion_version"
TAG_CHAMPION_RMS = "roughml.champion_rms"
TAG_REASON = "roughml.reason"
TAG_REGISTERED_VERSION = "roughml.registered_version"

#: ``score(model_uri) -> rms``: the headline test rms of a registered model on the current split.
Scorer = Callable[[str], float]


@dataclass(frozen=True)
class Decision:
    """Outcome of registering a challenger.

    ``champion_version``/``champion_rms`` describe the champion *before* the decision (None when
    there was none; ``champion_rms`` is NaN when that version has no recorded rms).
    ``champion_rescored`` is True when ``champion_rms`` was measured on the current test split
    for this decision, because the champion's recorded number came from another split.
    """

    version: str
    promoted: bool
    challenger_rms: float
    champion_version: str | None
    champion_rms: float | None
    reason: str
    champion_rescored: bool = False


def _model_source(run_id: str, artifact_path_or_model_uri: str) -> str:
    """A model URI MLflow can register: URIs pass through, bare artifact paths become runs:/ URIs."""
    if ":/" in artifact_path_or_model_uri:
        return artifact_path_or_model_uri
    return f"runs:/{run_id}/{artifact_path_or_model_uri.strip('/')}"


# --- the decision ----------------------------------------------------------------------------------

def decide(challenger_rms: float, champion_version: str | None, champion_rms: float | None) -> tuple[bool, str]:
    """Pure champion/challenger rule: promote on a strictly lower finite rms, or when no champion.

    A challenger without a finite rms is never promoted (its evaluation failed); a champion without
    a recorded rms cannot be compared and is replaced by any challenger that has one.
    """
    if not math.isfinite(challenger_rms):
        return False, f"challenger test_rms is {challenger_rms}: not promoted"
    if champion_version is None:
        return True, "no production version yet: challenger promoted"
    if champion_rms is None or not math.isfinite(champion_rms):
        return True, f"champion version {champion_version} has no recorded test_rms: challenger promoted"
    if challenger_rms < champion_rms:
        return True, (f"challenger test_rms {challenger_rms:.5f} < champion v{champion_version} "
                      f"test_rms {champion_rms:.5f}: promoted")
    return False, (f"challenger test_rms {challenger_rms:.5f} >= champion v{champion_version} "
                   f"test_rms {champion_rms:.5f}: champion kept")


def _redecide(existing: str | None, challenger_rms: float, champion_version: str | None,
              champion_rms: float | None) -> tuple[bool, str]:
    """:func:`decide`, told when the run was registered before as version ``existing``.

    A version that already serves stays as it is.
    """
    if existing is not None and existing == champion_version:
        return True, f"run already registered as version {existing}, which is the champion: unchanged"
    promoted, reason = decide(challenger_rms, champion_version, champion_rms)
    if existing is not None:
        reason = f"run already registered as version {existing}; {reason}"
    return promoted, reason


def champion_score(client, model_name: str, champion, split_digest: str | None,
                   score: Scorer | None) -> tuple[float, bool, str]:
    """The champion's test rms to compare with: ``(rms, rescored, note)``.

    The recorded number (``roughml.test_rms``) serves when it was measured on the current split
    (``roughml.test_split_digest`` equals ``split_digest``) or when no ``score`` is given.
    Otherwise ``score`` measures the champion's registered model on the current split, and the
    new number and digest are written on the champion version, so the next decision on this split
    reuses them. When that measurement fails, the recorded number serves and ``note`` says why.
    """
    recorded = version_rms(champion)
    recorded_split = dict(getattr(champion, "tags", {}) or {}).get(TAG_TEST_SPLIT)
    if score is None or split_digest is None or recorded_split == split_digest:
        return recorded, False, ""
    try:
        rms = float(score(f"models:/{model_name}/{champion.version}"))
    except Exception as exc:  # noqa: BLE001 - any failure: fall back to the recorded number
        return recorded, False, (f"champion v{champion.version} could not be re-evaluated on the current "
                                 f"test split ({type(exc).__name__}: {first_line(exc)}): recorded test_rms used")
    if math.isfinite(rms):
        client.set_model_version_tag(model_name, str(champion.version), TAG_TEST_RMS, repr(rms))
        client.set_model_version_tag(model_name, str(champion.version), TAG_TEST_SPLIT, split_digest)
    return rms, True, f"champion v{champion.version} re-evaluated on the current test split"


# --- registration ----------------------------------------------------------------------------------

def _ensure_registered_model(client, model_name: str) -> None:
    """Create the registered model on its first registration (with a one-line description)."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(model_name)
    except MlflowException as exc:
        if not is_missing(exc):
            raise
        client.create_registered_model(
            model_name, description="Roughness exponent ζ of interfaces from images (roughml).")


def _register_version(run_id: str, model_name: str, artifact_path_or_model_uri: str, tags: dict) -> str:
    """Register the run's model as a new version of ``model_name``; return the version number."""
    import mlflow

    with contextlib.redirect_stderr(io.StringIO()):  # "Created version ..." chatter
        mv = mlflow.register_model(_model_source(run_id, artifact_path_or_model_uri), model_name, tags=tags)
    return str(mv.version)


def _retire_legacy_stage(client, model_name: str, keep_version: str) -> None:
    """Archive versions an older roughml left in stage ``Production``, except ``keep_version``.

    Why: roughml no longer sets stages, so ``models:/<name>/Production`` would keep naming the old
    champion after the alias moved; archived, that URI fails instead of serving a stale model.
    The deprecated stage call runs only for registries that still have such a version.
    """
    for mv in list_versions(model_name):
        if legacy_stage(mv) == LEGACY_PRODUCTION_STAGE and str(mv.version) != keep_version:
            with warnings.catch_warnings():  # the stage API's deprecation notice: this is the migration
                warnings.filterwarnings("ignore", message=r"(?s).*stages", category=FutureWarning)
                client.transition_model_version_stage(model_name, str(mv.version), "Archived")


def _move_aliases(client, model_name: str, version: str, promoted: bool, champion_version: str | None) -> None:
    """``challenger`` to the decided version; ``production`` to it when promoted, else kept on the
    champion (set there when an older roughml marked the champion by its stage only)."""
    client.set_registered_model_alias(model_name, CHALLENGER_ALIAS, version)
    serving = version if promoted else champion_version
    if serving is None:
        return
    if aliases_of(client.get_registered_model(model_name)).get(PRODUCTION_ALIAS) != serving:
        client.set_registered_model_alias(model_name, PRODUCTION_ALIAS, serving)
    if promoted:
        _retire_legacy_stage(client, model_name, keep_version=serving)


def _record(client, run_id: str, model_name: str, decision: Decision, split_digest: str | None) -> None:
    """Write the decision on the model version and on its run, so the registry explains itself."""
    tags = {
        TAG_TEST_RMS: repr(decision.challenger_rms),
        TAG_DECISION: "promoted" if decision.promoted else "rejected",
        TAG_CHAMPION_VERSION: decision.champion_version or "",
        TAG_CHAMPION_RMS: "" if decision.champion_rms is None else repr(decision.champion_rms),
        TAG_REASON: decision.reason,
    }
    if split_digest:
        tags[TAG_TEST_SPLIT] = split_digest
    for key, value in tags.items():
        client.set_model_version_tag(model_name, decision.version, key, value)
        client.set_tag(run_id, key, value)
    client.set_tag(run_id, TAG_REGISTERED_VERSION, decision.version)
    client.log_metric(run_id, "registry_promoted", 1.0 if decision.promoted else 0.0)
    if decision.champion_rms is not None and math.isfinite(decision.champion_rms):
        client.log_metric(run_id, "champion_test_rms", decision.champion_rms)


def _register_and_decide(client, run_id: str, model_name: str, artifact_path_or_model_uri: str,
                         challenger_rms: float, split_digest: str | None, score: Scorer | None) -> Decision:
    """The registration steps of :func:`register_and_promote`; MLflow errors propagate."""
    _ensure_registered_model(client, model_name)
    existing = version_of_run(model_name, run_id)
    champion = current_champion(model_name)  # before registering: the challenger is not one yet
    champion_version = str(champion.version) if champion is not None else None
    champion_rms, rescored, note = None, False, ""
    if champion is not None and champion_version != existing and math.isfinite(challenger_rms):
        champion_rms, rescored, note = champion_score(client, model_name, champion, split_digest, score)
    elif champion is not None:
        champion_rms = version_rms(champion)
    version = existing
    if version is None:
        tags = {TAG_TEST_RMS: repr(challenger_rms), **({TAG_TEST_SPLIT: split_digest} if split_digest else {})}
        version = _register_version(run_id, model_name, artifact_path_or_model_uri, tags)
    promoted, reason = _redecide(existing, challenger_rms, champion_version, champion_rms)
    _move_aliases(client, model_name, version, promoted, champion_version)
    decision = Decision(version=version, promoted=promoted, challenger_rms=challenger_rms,
                        champion_version=champion_version, champion_rms=champion_rms,
                        reason=f"{note}; {reason}" if note else reason, champion_rescored=rescored)
    _record(client, run_id, model_name, decision, split_digest)
    return decision


def register_and_promote(run_id: str, model_name: str, artifact_path_or_model_uri: str,
                         test_rms: float, *, test_split_digest: str | None = None,
                         score_champion: Scorer | None = None) -> Decision:
    """Register the run's model as a new version and promote it if it beats the champion.

    The decided version gets alias ``challenger``; a promoted one also gets ``production``. A run
    that is already registered keeps its version (no duplicate): the decision is made again for
    that version, and a version that already serves stays as it is.

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
    test_split_digest : str, optional
        Digest (md5) of the test split ``test_rms`` was measured on; recorded on the version.
    score_champion : callable, optional
        ``score(model_uri) -> rms`` on that same split. Called for the champion when its recorded
        rms comes from another split (or an unknown one), so both are compared on the same data.

    Raises
    ------
    TrackingError
        When the registry cannot be written.
    """
    from mlflow.exceptions import MlflowException

    mlflow_client = registry_client()
    try:
        return _register_and_decide(mlflow_client, run_id, model_name, artifact_path_or_model_uri, float(test_rms),
                                    test_split_digest, score_champion)
    except MlflowException as exc:
        raise TrackingError(f"cannot register model {model_name!r}: {first_line(exc)}") from None


