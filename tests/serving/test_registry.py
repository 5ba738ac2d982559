"""Champion/challenger promotion and model-URI resolution against a real sqlite registry."""

from __future__ import annotations

import math

import mlflow
import pytest

from roughml.serving import registry

from roughml.serving import tracking
from roughml.core.errors import TrackingError
from roughml.serving.registry import decide, register_and_promote, resolve_model_uri

NAME = "roughml"


class _Constant(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: list[str]) -> list[float]:
        return [0.5 for _ in model_input]


def _run_with_model(rms: float) -> str:
    """A run holding a tiny pyfunc under artifact path 'model' (as train logs it) and test_rms."""
    exp = tracking.ensure_experiment("registry-test")
    with mlflow.start_run(experiment_id=exp) as run:
        mlflow.pyfunc.log_model(name="model", python_model=_Constant(), pip_requirements=["mlflow"])
        mlflow.log_metric("test_rms", rms)
    return run.info.run_id


def _stage(version: str) -> str:
    return mlflow.MlflowClient().get_model_version(NAME, version).current_stage


def test_decide_rule():
    assert decide(0.2, None, None) == (True, "no Production version yet: challenger promoted")
    assert decide(0.1, "1", 0.2)[0] is True
    assert decide(0.2, "1", 0.2)[0] is False  # ties keep the champion
    assert decide(0.3, "1", 0.2)[0] is False
    assert decide(math.nan, None, None)[0] is False
    assert decide(0.3, "1", math.nan)[0] is True


@pytest.fixture()
def three_versions(sqlite_tracking):
    tracking.configure()
    runs = [_run_with_model(rms) for rms in (0.20, 0.25, 0.15)]
    decisions = [register_and_promote(run, NAME, "model", rms) for run, rms in zip(runs, (0.20, 0.25, 0.15))]
    return runs, decisions


def test_champion_challenger(three_versions):
    runs, (first, worse, better) = three_versions
    client = mlflow.MlflowClient()
    assert first.promoted and first.version == "1" and first.champion_version is None
    assert not worse.promoted
    assert (worse.challenger_rms, worse.champion_version, worse.champion_rms) == (0.25, "1", 0.20)
    assert better.promoted and better.champion_version == "1" and better.champion_rms == 0.20
    assert [_stage(v) for v in "123"] == ["Archived", "None", "Production"]
    assert str(client.get_model_version_by_alias(NAME, "production").version) == "3"
    # the decision and both numbers are recorded on the version and on the run
    tags = client.get_model_version(NAME, "2").tags
    assert tags[registry.TAG_DECISION] == "rejected"
    assert float(tags[registry.TAG_TEST_RMS]) == 0.25 and float(tags[registry.TAG_CHAMPION_RMS]) == 0.20
    assert tags[registry.TAG_CHAMPION_VERSION] == "1" and "champion kept" in tags[registry.TAG_REASON]
    run = client.get_run(runs[1])
    assert run.data.tags[registry.TAG_DECISION] == "rejected"
    assert run.data.tags[registry.TAG_REGISTERED_VERSION] == "2"
    assert run.data.metrics["registry_promoted"] == 0.0 and run.data.metrics["champion_test_rms"] == 0.20
    assert client.get_run(runs[2]).data.metrics["registry_promoted"] == 1.0


def test_champion_rms_falls_back_to_run_metric(three_versions):
    client = mlflow.MlflowClient()
    client.delete_model_version_tag(NAME, "3", registry.TAG_TEST_RMS)
    assert registry.version_rms(client.get_model_version(NAME, "3")) == pytest.approx(0.15)
    run = _run_with_model(0.16)
    decision = register_and_promote(run, NAME, f"runs:/{run}/model", 0.16)
    assert not decision.promoted and decision.champion_rms == pytest.approx(0.15)


def test_resolve_model_uri(three_versions):
    assert resolve_model_uri(NAME) == f"models:/{NAME}/3"
    assert resolve_model_uri(NAME, stage="production") == f"models:/{NAME}/3"
    assert resolve_model_uri(NAME, stage="Archived") == f"models:/{NAME}/1"
    assert resolve_model_uri(NAME, alias="production") == f"models:/{NAME}/3"
    assert resolve_model_uri(NAME, version=2) == f"models:/{NAME}/2"
    assert resolve_model_uri(NAME, uri="runs:/abc/model") == "runs:/abc/model"
    loaded = mlflow.pyfunc.load_model(resolve_model_uri(NAME, stage="Production"))
    assert loaded.predict(["a", "b"]) == [0.5, 0.5]


def test_resolve_errors(three_versions):
    with pytest.raises(TrackingError, match="no model named 'nope' is registered"):
        resolve_model_uri("nope")
    with pytest.raises(TrackingError, match=r"no version in stage 'Staging' \(versions: 1 \(Archived\), "
                                            r"2 \(None\), 3 \(Production, alias production\)\)"):
        resolve_model_uri(NAME, stage="Staging")
    with pytest.raises(TrackingError, match=r"has no alias 'best' \(aliases: production -> v3\)"):
        resolve_model_uri(NAME, alias="best")
    with pytest.raises(TrackingError, match=r"has no version 9 \(versions: 1 \(Archived\)"):
        resolve_model_uri(NAME, version=9)
    with pytest.raises(TrackingError, match="choose only one"):
        resolve_model_uri(NAME, stage="Production", alias="production")
    with pytest.raises(TrackingError, match="unknown model stage 'Prod'"):
        resolve_model_uri(NAME, stage="Prod")


def test_no_production_yet(sqlite_tracking):
    tracking.configure()
    mlflow.MlflowClient().create_registered_model(NAME)
    with pytest.raises(TrackingError, match=r"no version in stage 'Production' \(versions: none\)"):
        resolve_model_uri(NAME)


def test_registering_a_run_again_reuses_its_version(three_versions):
    """A re-run of the register stage on an unchanged model must not add a duplicate version."""
    runs, _ = three_versions
    again_champion = register_and_promote(runs[2], NAME, "model", 0.15)
    again_rejected = register_and_promote(runs[1], NAME, "model", 0.25)
    assert len(registry.list_versions(NAME)) == 3
    assert again_champion.version == "3" and again_champion.promoted
    assert "already registered as version 3, which is Production" in again_champion.reason
    assert again_rejected.version == "2" and not again_rejected.promoted
    assert again_rejected.champion_version == "3" and "champion kept" in again_rejected.reason
    assert [_stage(v) for v in "123"] == ["Archived", "None", "Production"]
    # a registered run whose re-evaluation now beats the champion is promoted under its own version
    promoted = register_and_promote(runs[1], NAME, "model", 0.10)
    assert promoted.version == "2" and promoted.promoted and len(registry.list_versions(NAME)) == 3
    assert [_stage(v) for v in "123"] == ["Archived", "Production", "Archived"]
