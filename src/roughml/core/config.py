"""Read and check ``params.yaml``.

Why: every stage reads only its own block, and a typo must stop the pipeline with one readable
line (``ParamsError``) before any work is done, not with a KeyError deep inside a stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from roughml.core.errors import RoughmlError

DEFAULT_PARAMS_PATH = Path("params.yaml")


class ParamsError(RoughmlError):
    """``params.yaml`` is missing, unreadable or holds an invalid value.

    ``source`` is the file named in the message: the checkers only see mappings and leave the
    default, whoever read another file (the CLI's ``--params``) sets it.
    """

    def __init__(self, message: str, source: str | Path = "params.yaml"):
        super().__init__(message)
        self.message = message
        self.source = str(source)

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


def load_params(path: str | Path = DEFAULT_PARAMS_PATH) -> dict[str, Any]:
    """Return the whole YAML mapping of ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError("file not found", source=path) from None
    except OSError as exc:
        raise ParamsError(f"cannot read ({exc.strerror})", source=path) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ParamsError(f"not valid YAML{where}", source=path) from None
    if not isinstance(data, dict):
        raise ParamsError("expected a mapping of blocks (generate, train, ...)", source=path)
    return data


def block(params: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Return block ``name`` of the params, or raise a ParamsError naming it."""
    value = params.get(name)
    if not isinstance(value, dict):
        raise ParamsError(f"block '{name}' is missing or not a mapping")
    return value


# --- small checkers that produce one readable line --------------------------------------------

def _get(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise ParamsError(f"'{where}.{key}' is missing")
    return mapping[key]


def _number(value: Any, where: str, *, low: float | None = None, high: float | None = None,
            integer: bool = False) -> float:
    ok_type = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok_type):
        kind = "an integer" if integer else "a number"
        raise ParamsError(f"'{where}' must be {kind}, got {value!r}")
    if low is not None and value < low:
        raise ParamsError(f"'{where}' must be >= {low}, got {value!r}")
    if high is not None and value > high:
        raise ParamsError(f"'{where}' must be <= {high}, got {value!r}")
    return value


def _range(value: Any, where: str, *, low: float | None = None, high: float | None = None,
           integer: bool = False) -> tuple[float, float]:
    if not (isinstance(value, (list, tuple)) and len(value) == 2):
        raise ParamsError(f"'{where}' must be a [low, high] pair, got {value!r}")
    a = _number(value[0], where, low=low, high=high, integer=integer)
    b = _number(value[1], where, low=low, high=high, integer=integer)
    if a > b:
        raise ParamsError(f"'{where}' must have low <= high, got {value!r}")
    return (a, b)


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ParamsError(f"'{where}' must be true or false, got {value!r}")
    return value


# --- generate -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LabParams:
    """Ranges of the lab-image degradations (each drawn uniformly per image)."""

    contrast: tuple[float, float] = (0.25, 1.0)
    illumination_gradient: tuple[float, float] = (0.0, 0.35)
    blur_sigma_px: tuple[float, float] = (0.5, 2.0)
    noise_sigma: tuple[float, float] = (0.02, 0.10)
    islands: tuple[int, int] = (0, 8)
    island_radius_px: tuple[float, float] = (1.0, 3.0)
    rotation_deg: float = 3.0


@dataclass(frozen=True)
class FamilyParams:
    """One kind of synthetic sample: sizes along the wall, periodicity, lab rendering."""

    name: str
    length: tuple[int, ...]
    periodic: bool = False
    lab: bool = False


@dataclass(frozen=True)
class GenerateParams:
    seed: int
    zeta_range: tuple[float, float]
    width_fraction_range: tuple[float, float]
    oversample: int
    max_clipped_fraction: float
    lab: LabParams
    families: dict[str, FamilyParams]
    splits: dict[str, dict[str, int]]


SPLITS = ("train", "validation", "test")


def generate_params(params: Mapping[str, Any]) -> GenerateParams:
    """Check and return the ``generate`` block."""
    g = block(params, "generate")
    w = "generate"
    seed = int(_number(_get(g, "seed", w), f"{w}.seed", low=0, integer=True))
    zeta_range = _range(_get(g, "zeta_range", w), f"{w}.zeta_range", low=0.0, high=3.0)
    if zeta_range[0] <= 0:
        raise ParamsError("'generate.zeta_range' must be above 0")
    width = _range(_get(g, "width_fraction_range", w), f"{w}.width_fraction_range", low=1e-4, high=0.5)
    oversample = int(_number(_get(g, "oversample", w), f"{w}.oversample", low=1, high=64, integer=True))
    max_clip = float(_number(g.get("max_clipped_fraction", 0.02), f"{w}.max_clipped_fraction",
                             low=0.0, high=1.0))
    lab_raw = g.get("lab", {}) or {}
    if not isinstance(lab_raw, dict):
        raise ParamsError("'generate.lab' must be a mapping")
    defaults = LabParams()
    lw = f"{w}.lab"
    lab = LabParams(
        contrast=_range(lab_raw.get("contrast", defaults.contrast), f"{lw}.contrast", low=0.01, high=1.0),
        illumination_gradient=_range(lab_raw.get("illumination_gradient", defaults.illumination_gradient),
                                     f"{lw}.illumination_gradient", low=0.0, high=1.0),
        blur_sigma_px=_range(lab_raw.get("blur_sigma_px", defaults.blur_sigma_px), f"{lw}.blur_sigma_px",
                             low=0.0, high=20.0),
        noise_sigma=_range(lab_raw.get("noise_sigma", defaults.noise_sigma), f"{lw}.noise_sigma",
                           low=0.0, high=1.0),
        islands=tuple(int(v) for v in _range(lab_raw.get("islands", defaults.islands), f"{lw}.islands",
                                             low=0, high=1000, integer=True)),
        island_radius_px=_range(lab_raw.get("island_radius_px", defaults.island_radius_px),
                                f"{lw}.island_radius_px", low=0.0, high=50.0),
        rotation_deg=float(_number(lab_raw.get("rotation_deg", defaults.rotation_deg), f"{lw}.rotation_deg",
                                   low=0.0, high=45.0)),
    )
    fams_raw = _get(g, "families", w)
    if not isinstance(fams_raw, dict) or not fams_raw:
        raise ParamsError("'generate.families' must be a non-empty mapping")
    families: dict[str, FamilyParams] = {}
    for name, spec in fams_raw.items():
        fw = f"{w}.families.{name}"
        if not isinstance(spec, dict):
            raise ParamsError(f"'{fw}' must be a mapping")
        lengths = _get(spec, "length", fw)
        if isinstance(lengths, int):
            lengths = [lengths]
        if not isinstance(lengths, list) or not lengths:
            raise ParamsError(f"'{fw}.length' must be a list of sizes")
        lengths = tuple(int(_number(v, f"{fw}.length", low=16, high=16384, integer=True)) for v in lengths)
        families[name] = FamilyParams(
            name=str(name), length=lengths,
            periodic=_bool(spec.get("periodic", False), f"{fw}.periodic"),
            lab=_bool(spec.get("lab", False), f"{fw}.lab"),
        )
    splits_raw = _get(g, "splits", w)
    if not isinstance(splits_raw, dict):
        raise ParamsError("'generate.splits' must be a mapping")
    splits: dict[str, dict[str, int]] = {}
    for split in SPLITS:
        sw = f"{w}.splits.{split}"
        counts = _get(splits_raw, split, f"{w}.splits")
        if not isinstance(counts, dict) or not counts:
            raise ParamsError(f"'{sw}' must map family names to sample counts")
        for fam, n in counts.items():
            if fam not in families:
                raise ParamsError(f"'{sw}.{fam}' names an unknown family "
                                  f"(known: {', '.join(families)})")
            _number(n, f"{sw}.{fam}", low=1, integer=True)
        splits[split] = {str(k): int(v) for k, v in counts.items()}
    unknown = set(splits_raw) - set(SPLITS)
    if unknown:
        raise ParamsError(f"unknown split(s) {sorted(unknown)}; expected {list(SPLITS)}")
    return GenerateParams(seed=seed, zeta_range=zeta_range, width_fraction_range=width,
                          oversample=oversample, max_clipped_fraction=max_clip, lab=lab,
                          families=families, splits=splits)


# --- train / evaluate / register / validate ------------------------------------------------------

@dataclass(frozen=True)
class TrainParams:
    seed: int = 7
    model: str = "regressor"
    epochs: int = 12
    batch_size: int = 32
    learning_rate: float = 2e-3
    early_stopping_patience: int = 3
    stem_filters: int = 8
    tower_filters: int = 24
    tower_levels: int = 6
    weight_average_epochs: float = 0.0
    learning_rate_decay_epochs: int = 0
    mixed_precision: bool = False


MODEL_KINDS = ("regressor", "classifier")


def train_params(params: Mapping[str, Any]) -> TrainParams:
    """Check and return the ``train`` block."""
    t = block(params, "train")
    w = "train"
    model = _get(t, "model", w)
    if model not in MODEL_KINDS:
        raise ParamsError(f"'train.model' must be one of {list(MODEL_KINDS)}, got {model!r}")
    known = set(TrainParams.__dataclass_fields__)
    unknown = set(t) - known
    if unknown:
        raise ParamsError(f"unknown key(s) in 'train': {sorted(unknown)}")
    return TrainParams(
        seed=int(_number(_get(t, "seed", w), "train.seed", low=0, integer=True)),
        model=model,
        epochs=int(_number(_get(t, "epochs", w), "train.epochs", low=1, integer=True)),
        batch_size=int(_number(_get(t, "batch_size", w), "train.batch_size", low=1, integer=True)),
        learning_rate=float(_number(_get(t, "learning_rate", w), "train.learning_rate", low=1e-7, high=1.0)),
        early_stopping_patience=int(_number(t.get("early_stopping_patience", 3),
                                            "train.early_stopping_patience", low=0, integer=True)),
        stem_filters=int(_number(t.get("stem_filters", 8), "train.stem_filters", low=1, integer=True)),
        tower_filters=int(_number(t.get("tower_filters", 24), "train.tower_filters", low=1, integer=True)),
        tower_levels=int(_number(t.get("tower_levels", 6), "train.tower_levels", low=1, high=12, integer=True)),
        weight_average_epochs=float(_number(t.get("weight_average_epochs", 0.0), "train.weight_average_epochs",
                                            low=0.0, high=100.0)),
        learning_rate_decay_epochs=int(_number(t.get("learning_rate_decay_epochs", 0),
                                               "train.learning_rate_decay_epochs", low=0, integer=True)),
        mixed_precision=_bool(t.get("mixed_precision", False), "train.mixed_precision"),
    )


@dataclass(frozen=True)
class EvaluateParams:
    accuracy_tolerance: float = 0.025
    zeta_bins: tuple[float, ...] = field(default_factory=tuple)
    report_range: tuple[float, float] = (0.1, 1.0)


def evaluate_params(params: Mapping[str, Any]) -> EvaluateParams:
    """Check and return the ``evaluate`` block."""
    e = block(params, "evaluate")
    w = "evaluate"
    bins = _get(e, "zeta_bins", w)
    if not isinstance(bins, list) or len(bins) < 2:
        raise ParamsError("'evaluate.zeta_bins' must be a list of at least two edges")
    bins_t = tuple(float(_number(b, "evaluate.zeta_bins")) for b in bins)
    if any(b2 <= b1 for b1, b2 in zip(bins_t, bins_t[1:])):
        raise ParamsError("'evaluate.zeta_bins' must increase")
    return EvaluateParams(
        accuracy_tolerance=float(_number(_get(e, "accuracy_tolerance", w), "evaluate.accuracy_tolerance",
                                         low=1e-6, high=1.0)),
        zeta_bins=bins_t,
        report_range=_range(e.get("report_range", [0.1, 1.0]), "evaluate.report_range", low=0.0, high=3.0),
    )


@dataclass(frozen=True)
class RegisterParams:
    model_name: str = "roughml"
    experiment: str = "roughml"


def register_params(params: Mapping[str, Any]) -> RegisterParams:
    """Check and return the ``register`` block."""
    r = block(params, "register")
    name = _get(r, "model_name", "register")
    experiment = r.get("experiment", "roughml")
    for key, value in (("model_name", name), ("experiment", experiment)):
        if not isinstance(value, str) or not value.strip():
            raise ParamsError(f"'register.{key}' must be a non-empty string")
    return RegisterParams(model_name=name, experiment=experiment)


@dataclass(frozen=True)
class ValidateParams:
    zeta_bins: int = 10
    min_bin_share: float = 0.5
    max_clipped_fraction: float = 0.02
    sample_images: int = 64


def validate_params(params: Mapping[str, Any]) -> ValidateParams:
    """Check and return the ``validate`` block."""
    v = block(params, "validate")
    w = "validate"
    return ValidateParams(
        zeta_bins=int(_number(_get(v, "zeta_bins", w), "validate.zeta_bins", low=1, integer=True)),
        min_bin_share=float(_number(_get(v, "min_bin_share", w), "validate.min_bin_share", low=0.0, high=1.0)),
        max_clipped_fraction=float(_number(_get(v, "max_clipped_fraction", w), "validate.max_clipped_fraction",
                                           low=0.0, high=1.0)),
        sample_images=int(_number(v.get("sample_images", 64), "validate.sample_images", low=0, integer=True)),
    )


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten nested params to ``{"generate.lab.contrast": "[0.25, 1.0]", ...}`` for MLflow."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, prefix=f"{name}."))
        else:
            flat[name] = str(value)
    return flat
