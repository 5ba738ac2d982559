"""params.yaml checking: the shipped file is valid, mistakes give one readable ParamsError."""

import dataclasses
from pathlib import Path

import pytest
import yaml

from roughml.core.config import (SPLITS, EvaluateParams, FamilyParams, GenerateParams, LabParams, ParamsError,
                                 RegisterParams, TrainParams, ValidateParams, evaluate_params, flatten,
                                 generate_params, load_params, register_params, train_params, validate_params)

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
    (lambda p: p["generate"]["families"]["clean_128"].__setitem__("cnr", [1.0, 2.0]), "cnr is a lab rendering range"),
    (lambda p: p["generate"]["families"]["lab"].__setitem__("transverse", [8]), "transverse"),
    (lambda p: p["train"].__setitem__("epoch", 3), "unknown key"),
    (lambda p: p["train"].__setitem__("weight_average_epochs", -1), "train.weight_average_epochs"),
    (lambda p: p["train"].__setitem__("nll_beta", 1.5), "train.nll_beta"),
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


# --- exact messages: one line, naming the file and the key path -----------------------------------

def _error(mutate, check=generate_params) -> str:
    p = shipped()
    mutate(p)
    with pytest.raises(ParamsError) as info:
        check(p)
    return str(info.value)


@pytest.mark.parametrize("mutate, check, message", [
    (lambda p: p["train"].update(epochs=0), train_params, "'train.epochs' must be >= 1, got 0"),
    (lambda p: p["train"].update(epochs=True), train_params, "'train.epochs' must be an integer, got True"),
    (lambda p: p["train"].update(epochs=3.0), train_params, "'train.epochs' must be an integer, got 3.0"),
    (lambda p: p["train"].update(learning_rate="0.1"), train_params,
     "'train.learning_rate' must be a number, got '0.1'"),
    (lambda p: p["train"].update(tower_levels=13), train_params,
     "'train.tower_levels' must be <= 12, got 13"),
    (lambda p: p["train"].update(mixed_precision="yes"), train_params,
     "'train.mixed_precision' must be true or false, got 'yes'"),
    (lambda p: p["train"].update(model="transformer"), train_params,
     "'train.model' must be one of ['regressor', 'classifier'], got 'transformer'"),
    (lambda p: p["train"].update(zz=1, epoch=3), train_params, "unknown key(s) in 'train': ['epoch', 'zz']"),
    (lambda p: p["train"].pop("model"), train_params, "'train.model' is missing"),
    (lambda p: p["generate"].pop("seed"), generate_params, "'generate.seed' is missing"),
    (lambda p: p["generate"].update(zeta_range=[0, 1]), generate_params,
     "'generate.zeta_range' must be above 0"),
    (lambda p: p["generate"].update(zeta_range=[-1, 1]), generate_params,
     "'generate.zeta_range' must be >= 0.0, got -1"),
    (lambda p: p["generate"].update(zeta_range=[0.5]), generate_params,
     "'generate.zeta_range' must be a [low, high] pair, got [0.5]"),
    (lambda p: p["generate"]["lab"].update(islands=[0, 2.5]), generate_params,
     "'generate.lab.islands' must be an integer, got 2.5"),
    (lambda p: p["generate"]["lab"].update(rotation_deg=True), generate_params,
     "'generate.lab.rotation_deg' must be a number, got True"),
    (lambda p: p["generate"]["families"]["lab"].update(length=[8]), generate_params,
     "'generate.families.lab.length' must be >= 16, got 8"),
    (lambda p: p["generate"]["families"]["lab"].update(length=[32768]), generate_params,
     "'generate.families.lab.length' must be <= 16384, got 32768"),
    (lambda p: p["generate"]["families"]["lab"].update(length=[]), generate_params,
     "'generate.families.lab.length' must be a list of sizes"),
    (lambda p: p["generate"]["families"].update(lab=3), generate_params,
     "'generate.families.lab' must be a mapping"),
    (lambda p: p["generate"].update(families={}), generate_params,
     "'generate.families' must be a non-empty mapping"),
    (lambda p: p["generate"]["splits"].pop("validation"), generate_params,
     "'generate.splits.validation' is missing"),
    (lambda p: p["generate"]["splits"].update(dev={"lab": 1}), generate_params,
     "'generate.splits' has unknown split(s) ['dev']; expected ['train', 'validation', 'test']"),
    (lambda p: p["generate"]["splits"]["test"].update(nope=3), generate_params,
     "'generate.splits.test.nope' names an unknown family (known: clean_128, clean_periodic_128, clean_256, "
     "clean_512, lab_train, lab, dprm_clean, dprm_lab, thermal_clean, thermal_lab, depinning_lr_clean, "
     "depinning_lr_lab, lab_strip, lab_ring)"),
    (lambda p: p["generate"]["splits"]["test"].update(lab=0), generate_params,
     "'generate.splits.test.lab' must be >= 1, got 0"),
    (lambda p: p["generate"]["splits"].update(test={}), generate_params,
     "'generate.splits.test' must map family names to sample counts"),
    (lambda p: p["evaluate"].update(zeta_bins=[0.1, 0.1]), evaluate_params,
     "'evaluate.zeta_bins' must increase"),
    (lambda p: p["evaluate"].update(zeta_bins=[0.1]), evaluate_params,
     "'evaluate.zeta_bins' must be a list of at least two edges"),
    (lambda p: p["register"].update(model_name="  "), register_params,
     "'register.model_name' must be a non-empty string"),
    (lambda p: p["validate"].update(min_bin_share=float("nan")), validate_params,
     "'validate.min_bin_share' must be <= 1.0, got nan"),
    (lambda p: p.pop("evaluate"), evaluate_params, "block 'evaluate' is missing or not a mapping"),
])
def test_error_messages_are_one_exact_line(mutate, check, message):
    text = _error(mutate, check)
    assert text == f"params.yaml: {message}"
    assert "\n" not in text


def test_error_names_the_file_it_came_from():
    error = ParamsError("'train.epochs' must be >= 1, got 0")
    error.source = "bad.yaml"
    assert str(error) == "bad.yaml: 'train.epochs' must be >= 1, got 0"
    assert error.message == "'train.epochs' must be >= 1, got 0"


# --- what callers get: types, defaults, immutability ----------------------------------------------

def test_values_have_the_types_callers_rely_on():
    gp = generate_params(shipped())
    assert gp.zeta_range == (0.05, 1.25) and isinstance(gp.zeta_range, tuple)
    assert gp.lab.islands == (0, 8) and all(type(v) is int for v in gp.lab.islands)
    family = gp.families["lab_train"]
    assert isinstance(family, FamilyParams) and family.name == "lab_train" and family.lab is True
    assert isinstance(family.length, tuple) and family.length[0] == 128
    assert list(gp.splits) == list(SPLITS)  # SPLITS order, whatever the file's order
    assert type(gp.splits) is dict and type(gp.splits["test"]) is dict
    assert gp.splits["test"]["lab"] == 400
    assert isinstance(train_params(shipped()).learning_rate, float)


def test_optional_keys_take_the_documented_defaults():
    p = shipped()
    for key in ("max_clipped_fraction", "lab"):
        p["generate"].pop(key)
    p["generate"]["families"]["lab"] = {"length": 256}  # one size is a one-element list
    for key in ("early_stopping_patience", "weight_average_epochs", "stem_filters", "tower_filters",
                "tower_levels", "mixed_precision", "nll_beta"):
        p["train"].pop(key)
    p["evaluate"].pop("report_range")
    p["register"].pop("experiment")
    p["validate"].pop("sample_images")
    gp = generate_params(p)
    assert gp.max_clipped_fraction == 0.02 and gp.lab == LabParams()
    assert gp.families["lab"] == FamilyParams("lab", (256,), periodic=False, lab=False)
    t = train_params(p)
    assert (t.early_stopping_patience, t.weight_average_epochs, t.stem_filters, t.tower_filters,
            t.tower_levels, t.mixed_precision, t.nll_beta) == (3, 0.0, 8, 24, 6, False, 0.0)
    assert evaluate_params(p).report_range == (0.1, 1.0)
    assert register_params(p).experiment == "roughml"
    assert validate_params(p).sample_images == 64


def test_an_empty_lab_block_means_every_default():
    p = shipped()
    p["generate"]["lab"] = None
    assert generate_params(p).lab == LabParams()


def test_unknown_keys_outside_train_are_skipped():
    p = shipped()
    p["generate"]["comment"] = "x"
    p["generate"]["lab"]["future_option"] = 1
    p["generate"]["families"]["lab"]["note"] = "y"
    p["validate"]["later"] = 2
    assert generate_params(p) == generate_params(shipped())
    assert validate_params(p) == validate_params(shipped())


def test_classes_are_frozen_and_defaults_serve_code():
    t = TrainParams(stem_filters=2, tower_filters=4, tower_levels=3)
    assert (t.seed, t.model, t.epochs, t.batch_size, t.learning_rate) == (7, "regressor", 12, 32, 2e-3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.epochs = 3
    assert EvaluateParams().zeta_bins == () and RegisterParams().model_name == "roughml"
    assert ValidateParams() == ValidateParams(10, 0.5, 0.02, 64)
    assert dataclasses.asdict(LabParams())["contrast"] == (0.25, 1.0)


def test_code_is_checked_like_the_file():
    """Built in code, the classes accept positional fields and refuse misspelt keywords."""
    family = FamilyParams("clean_32", (32,), periodic=True)
    assert (family.name, family.length, family.periodic, family.lab) == ("clean_32", (32,), True, False)
    with pytest.raises(ValueError, match="epoch"):
        TrainParams(epoch=3)
    with pytest.raises(ValueError, match="tower_levels"):
        TrainParams(tower_levels=0)
    with pytest.raises(ValueError, match="unknown family"):
        GenerateParams(seed=1, zeta_range=(0.1, 1.0), width_fraction_range=(0.03, 0.1), oversample=4,
                       max_clipped_fraction=0.02, lab=LabParams(), families={"a": FamilyParams("a", (32,))},
                       splits={"train": {"b": 1}, "validation": {"a": 1}, "test": {"a": 1}})


def test_physics_names_are_the_simulators_that_have_one_exponent():
    # core cannot import physics (layering), so the config keeps its own list: it must name every
    # simulated family except the crossover, which has no single exponent to train on
    from roughml.core.config import PHYSICS
    from roughml.physics.interfaces.families import FAMILIES

    assert PHYSICS[0] == "gaussian"
    assert set(PHYSICS[1:]) == set(FAMILIES) - {"crossover"}
