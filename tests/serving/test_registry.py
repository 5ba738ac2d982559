"""Champion/challenger promotion with aliases, the champion re-scored on the current test split,
the legacy-stage migration and model-URI resolution, against a real sqlite registry."""

from __future__ import annotations

import math
import warnings

import mlflow
import pytest
from mlflow.exceptions import MlflowException

from roughml.core.errors import RoughmlError, TrackingError
from roughml.serving import registry, tracking
from roughml.serving.registry import decide, register_and_promote, resolve_model_uri

NAME = "roughml"

#: A models-from-code file for a tiny pyfunc (no pickled object), as roughml logs its own.
CONSTANT_MODEL = '''
import mlflow
from mlflow.pyfunc import PythonModel


class Constant(PythonModel):
    def predict(self, context, model_input: list[str], params=None) -> list[float]:
        return [0.5 for _ in model_input]


mlflow.models.set_model(Constant())
'''


@pytest.fixture()
def store(sqlite_tracking, tmp_path):
    """A fresh sqlite registry; returns a function logging a run with a tiny model and test_rms."""
    tracking.configure()
    code = tmp_path / "constant_model.py"
    code.write_text(CONSTANT_MODEL)
    experiment = tracking.ensure_experiment("registry-test")

    def run_with_model(rms: float) -> str:
        with mlflow.start_run(experiment_id=experiment) as run:
            mlflow.pyfunc.log_model(name="model", python_model=str(code), pip_requirements=["mlflow"])
            mlflow.log_metric("test_rms", rms)
        return run.info.run_id

    return run_with_model


def _aliases() -> dict[str, str]:
    return {k: str(v) for k, v in mlflow.MlflowClient().get_registered_model(NAME).aliases.items()}


def _stages() -> list[str]:
    client = mlflow.MlflowClient()
    return [client.get_model_version(NAME, mv.version).current_stage
            for mv in sorted(registry.list_versions(NAME), key=lambda v: int(v.version))]


def test_decide_rule():
    assert decide(0.2, None, None) == (True, "no production version yet: challenger promoted")
    assert decide(0.1, "1", 0.2)[0] is True
    assert decide(0.2, "1", 0.2)[0] is False  # ties keep the champion
    assert decide(0.3, "1", 0.2)[0] is False
    assert decide(math.nan, None, None)[0] is False
    assert decide(0.3, "1", math.nan)[0] is True


@pytest.fixture()
def three_versions(store):
    runs = [store(rms) for rms in (0.20, 0.25, 0.15)]
    decisions = [register_and_promote(run, NAME, "model", rms) for run, rms in zip(runs, (0.20, 0.25, 0.15))]
    return runs, decisions


def test_champion_challenger_aliases(three_versions):
    runs, (first, worse, better) = three_versions
    client = mlflow.MlflowClient()
    assert first.promoted and first.version == "1" and first.champion_version is None
    assert not worse.promoted
    assert (worse.challenger_rms, worse.champion_version, worse.champion_rms) == (0.25, "1", 0.20)
    assert better.promoted and better.champion_version == "1" and better.champion_rms == 0.20
    assert _aliases() == {"production": "3", "challenger": "3"}
    assert _stages() == ["None", "None", "None"]  # stages are deprecated: never set
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


def test_a_rejected_version_is_the_challenger(three_versions, store):
    decision = register_and_promote(store(0.3), NAME, "model", 0.3)
    assert not decision.promoted and decision.version == "4"
    assert _aliases() == {"production": "3", "challenger": "4"}


def test_champion_rms_falls_back_to_run_metric(three_versions, store):
    client = mlflow.MlflowClient()
    client.delete_model_version_tag(NAME, "3", registry.TAG_TEST_RMS)
    assert registry.version_rms(client.get_model_version(NAME, "3")) == pytest.approx(0.15)
    run = store(0.16)
    decision = register_and_promote(run, NAME, f"runs:/{run}/model", 0.16)
    assert not decision.promoted and decision.champion_rms == pytest.approx(0.15)


def test_champion_rescored_on_the_current_split(store):
    """A champion measured on another test split is measured again on the challenger's split; the
    new number is kept on the champion, so the next decision on that split does not measure again."""
    calls = []

    def score(uri: str) -> float:
        calls.append(uri)
        return 0.15

    first = register_and_promote(store(0.20), NAME, "model", 0.20, test_split_digest="aaa", score_champion=score)
    assert first.promoted and calls == []
    # on split bbb the champion measures 0.15: a challenger at 0.18 beats 0.20 but not 0.15
    second = register_and_promote(store(0.18), NAME, "model", 0.18, test_split_digest="bbb", score_champion=score)
    assert calls == [f"models:/{NAME}/1"]
    assert not second.promoted and second.champion_rescored and second.champion_rms == 0.15
    assert "re-evaluated on the current test split" in second.reason
    tags = mlflow.MlflowClient().get_model_version(NAME, "1").tags
    assert (float(tags[registry.TAG_TEST_RMS]), tags[registry.TAG_TEST_SPLIT]) == (0.15, "bbb")
    third = register_and_promote(store(0.10), NAME, "model", 0.10, test_split_digest="bbb", score_champion=score)
    assert len(calls) == 1 and not third.champion_rescored and third.promoted
    assert _aliases() == {"production": "3", "challenger": "3"}


def test_champion_that_cannot_be_rescored_keeps_its_recorded_rms(store):
    def broken(uri: str) -> float:
        raise RoughmlError("model is a Constant, not a roughml model")

    register_and_promote(store(0.20), NAME, "model", 0.20, test_split_digest="aaa")
    decision = register_and_promote(store(0.25), NAME, "model", 0.25, test_split_digest="bbb", score_champion=broken)
    assert not decision.promoted and not decision.champion_rescored and decision.champion_rms == 0.20
    assert "could not be re-evaluated" in decision.reason and "not a roughml model" in decision.reason


def test_resolve_model_uri(three_versions, store):
    register_and_promote(store(0.3), NAME, "model", 0.3)  # version 4: challenger, rejected
    assert resolve_model_uri(NAME) == f"models:/{NAME}/3"
    assert resolve_model_uri(NAME, stage="production") == f"models:/{NAME}/3"
    assert resolve_model_uri(NAME, stage="Staging") == f"models:/{NAME}/4"
    assert resolve_model_uri(NAME, alias="production") == f"models:/{NAME}/3"
    assert resolve_model_uri(NAME, alias="challenger") == f"models:/{NAME}/4"
    assert resolve_model_uri(NAME, version=2) == f"models:/{NAME}/2"
    assert resolve_model_uri(NAME, uri="runs:/abc/model") == "runs:/abc/model"
    loaded = mlflow.pyfunc.load_model(resolve_model_uri(NAME, stage="Production"))
    assert loaded.predict(["a", "b"]) == [0.5, 0.5]
    assert mlflow.pyfunc.load_model(f"models:/{NAME}@production").predict(["a"]) == [0.5]


def test_resolve_errors(three_versions):
    with pytest.raises(TrackingError, match="no model named 'nope' is registered"):
        resolve_model_uri("nope")
    with pytest.raises(TrackingError, match=r"model stage 'Archived' has no alias \(registry stages are "
                                            r"deprecated in MLflow 3; .*\): choose a version or an alias"):
        resolve_model_uri(NAME, stage="archived")
    with pytest.raises(TrackingError, match=r"has no alias 'best' \(aliases: challenger -> v3, production -> v3; "
                                            r"versions: 1, 2, 3 \(aliases challenger, production\)\)"):
        resolve_model_uri(NAME, alias="best")
    with pytest.raises(TrackingError, match=r"has no version 9 \(versions: 1, 2, 3 \(aliases challenger"):
        resolve_model_uri(NAME, version=9)
    with pytest.raises(TrackingError, match="choose only one"):
        resolve_model_uri(NAME, stage="Production", alias="production")
    with pytest.raises(TrackingError, match="unknown model stage 'Prod'"):
        resolve_model_uri(NAME, stage="Prod")


def test_no_production_yet(store):
    mlflow.MlflowClient().create_registered_model(NAME)
    with pytest.raises(TrackingError, match=r"has no alias 'production' \(aliases: none; versions: none\)"):
        resolve_model_uri(NAME)
    with pytest.raises(TrackingError, match=r"no alias 'challenger', which stands for stage 'Staging'"):
        resolve_model_uri(NAME, stage="Staging")


def test_registering_a_run_again_reuses_its_version(three_versions):
    """A re-run of the register stage on an unchanged model must not add a duplicate version."""
    runs, _ = three_versions
    again_champion = register_and_promote(runs[2], NAME, "model", 0.15)
    again_rejected = register_and_promote(runs[1], NAME, "model", 0.25)
    assert len(registry.list_versions(NAME)) == 3
    assert again_champion.version == "3" and again_champion.promoted
    assert "already registered as version 3, which is the champion" in again_champion.reason
    assert again_rejected.version == "2" and not again_rejected.promoted
    assert again_rejected.champion_version == "3" and "champion kept" in again_rejected.reason
    assert _aliases() == {"production": "3", "challenger": "2"}
    # a registered run whose re-evaluation now beats the champion is promoted under its own version
    promoted = register_and_promote(runs[1], NAME, "model", 0.10)
    assert promoted.version == "2" and promoted.promoted and len(registry.list_versions(NAME)) == 3
    assert _aliases() == {"production": "2", "challenger": "2"}


def test_legacy_stage_champion_is_migrated(store):
    """A registry promoted by an older roughml (stage Production, no alias): the stage champion
    is compared with and gets the alias; once replaced, it leaves the stage, so that
    models:/<name>/Production fails instead of serving a stale model."""
    client = mlflow.MlflowClient()
    old_run = store(0.20)
    mlflow.register_model(f"runs:/{old_run}/model", NAME, tags={registry.TAG_TEST_RMS: "0.2"})
    with pytest.warns(FutureWarning, match="stages"):
        client.transition_model_version_stage(NAME, "1", "Production")
    kept = register_and_promote(store(0.30), NAME, "model", 0.30)
    assert not kept.promoted and kept.champion_version == "1" and kept.champion_rms == 0.20
    assert _aliases() == {"production": "1", "challenger": "2"}
    better = register_and_promote(store(0.10), NAME, "model", 0.10)
    assert better.promoted and _aliases() == {"production": "3", "challenger": "3"}
    assert _stages() == ["Archived", "None", "None"]
    with pytest.raises(MlflowException, match="stage 'Production'"):
        mlflow.pyfunc.load_model(f"models:/{NAME}/Production")
    assert resolve_model_uri(NAME, stage="Production") == f"models:/{NAME}/3"


def test_registry_raises_no_future_warning(store):
    """No deprecated (stage) API on the way: MLflow's FutureWarnings fail this test.

    The filter is set after ``tracking.configure`` (which hides MLflow's FutureWarnings from
    CLI users), so it is the one that applies.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        register_and_promote(store(0.2), NAME, "model", 0.2, test_split_digest="aaa")
        register_and_promote(store(0.1), NAME, "model", 0.1, test_split_digest="bbb",
                             score_champion=lambda uri: 0.3)
        assert resolve_model_uri(NAME, stage="Production") == f"models:/{NAME}/2"
        assert resolve_model_uri(NAME, stage="Staging") == f"models:/{NAME}/2"
        assert mlflow.pyfunc.load_model(f"models:/{NAME}@production").predict(["a"]) == [0.5]
