"""params.yaml checking: the shipped file is valid, mistakes give one readable ParamsError."""

from pathlib import Path

import pytest
import yaml

from roughml.core.config import (ParamsError, evaluate_params, flatten, generate_params, load_params,
                            register_params, train_params, validate_params)

REPO = Path(__file__).resolve().parents[2]


def shipped() -> dict:
    return load_params(REPO / "params.yaml")


def test_shipped_params_are_valid():
    p = shipped()
    gp = generate_params(p)
    assert set(gp.splits) == {"train", "validation", "test"}
    assert gp.zeta_range[0] <= 0.1 and gp.zeta_range[1] >= 1.25
    assert train_params(p).model in ("regressor", "classifier")
    assert evaluate_params(p).report_range == (0.1, 1.0)
    assert register_params(p).model_name == "roughml"
    assert validate_params(p).zeta_bins >= 2


@pytest.mark.parametrize("mutate, fragment", [
    (lambda p: p["generate"].pop("seed"), "generate.seed"),
    (lambda p: p["generate"].__setitem__("zeta_range", [1.0, 0.5]), "low <= high"),
    (lambda p: p["generate"]["splits"]["test"].__setitem__("nope", 3), "unknown family"),
    (lambda p: p["train"].__setitem__("model", "transformer"), "train.model"),
    (lambda p: p["train"].__setitem__("epochs", "many"), "train.epochs"),
    (lambda p: p["train"].__setitem__("epoch", 3), "unknown key"),
    (lambda p: p["train"].__setitem__("weight_average_epochs", -1), "train.weight_average_epochs"),
    (lambda p: p.pop("evaluate"), "evaluate"),
])
def test_invalid_values_name_the_key(mutate, fragment):
    p = shipped()
    mutate(p)
    with pytest.raises(ParamsError, match=fragment):
        generate_params(p), train_params(p), evaluate_params(p)


def test_unreadable_files(tmp_path):
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("generate: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(ParamsError, match="mapping"):
        load_params(scalar)


def test_flatten_is_complete():
    p = shipped()
    flat = flatten(p)
    assert flat["train.epochs"] == str(p["train"]["epochs"])
    assert flat["generate.lab.blur_sigma_px"] == str(p["generate"]["lab"]["blur_sigma_px"])
    leaves = sum(1 for _ in _leaves(p))
    assert len(flat) == leaves


def _leaves(d):
    for v in d.values():
        if isinstance(v, dict):
            yield from _leaves(v)
        else:
            yield v
