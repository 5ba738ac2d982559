"""Read and check ``params.yaml``.

Why: every stage reads only its own block, and a typo must stop the pipeline with one readable
line (``ParamsError``) before any work is done, not with a KeyError deep inside a stage.

The parameter classes are frozen pydantic dataclasses: their field annotations carry the bounds
(``_number(0.0, 1.0)`` is a real number in [0, 1]), so one declaration both documents a value and
checks it, whether it comes from ``params.yaml`` or from code. Pydantic's errors are translated
into the one-line ``ParamsError`` that names the key path (``'train.epochs' must be >= 1, got 0``).
"""

import dataclasses
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Mapping, TypeVar

import yaml
from pydantic import (AfterValidator, BeforeValidator, ConfigDict, Field, Strict, StrictBool, TypeAdapter,
                      ValidationError, ValidationInfo, model_validator)
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError

from roughml.core.errors import ParamsError  # re-exported: callers import it from here

DEFAULT_PARAMS_PATH = Path("params.yaml")
SPLITS = ("train", "validation", "test")
MODEL_KINDS = ("regressor", "classifier")


def load_params(path: str | Path = DEFAULT_PARAMS_PATH) -> dict[str, Any]:
    """Return the whole YAML mapping of ``path``.

    Raises
    ------
    ParamsError
        The file is missing, unreadable, not YAML, or not a mapping of blocks, so that the CLI
        can report it in one line naming the file.
    """
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


# --- value types: bounds live in the annotation ------------------------------------------------

_ERROR_TYPE = "roughml_params"


def _invalid(message: str, *below: str) -> PydanticCustomError:
    """An error for the value being checked, or for key path ``below`` inside it.

    Why ``below``: a validator of a whole mapping (the splits, a block) finds problems with one of
    its keys, and the message must still name that key's full path.
    """
    return PydanticCustomError(_ERROR_TYPE, "{message}", {"message": message, "below": below})


def _number(low: float | None = None, high: float | None = None) -> Any:
    """A real number in [low, high]; ints are welcome, bools and numeric strings are not.

    Strict, because YAML reads ``yes`` as true and ``"3"`` as text: either is a typo here.
    """
    return Annotated[float, Strict(), Field(ge=low, le=high)]


def _integer(low: int | None = None, high: int | None = None) -> Any:
    """An integer in [low, high] (not a bool, not ``3.0``)."""
    return Annotated[int, Strict(), Field(ge=low, le=high)]


def _as_pair(value: Any) -> Any:
    """Accept a YAML list (or a tuple, from code) of exactly two items."""
    if not (isinstance(value, (list, tuple)) and len(value) == 2):
        raise _invalid(f"must be a [low, high] pair, got {value!r}")
    return value


def _ordered(pair: tuple[Any, Any]) -> tuple[Any, Any]:
    if pair[0] > pair[1]:
        raise _invalid(f"must have low <= high, got {list(pair)!r}")
    return pair


def _range(low: float, high: float, *, integer: bool = False) -> Any:
    """A ``[low, high]`` pair, both ends within the bounds, as a tuple."""
    end = _integer(low, high) if integer else _number(low, high)
    return Annotated[tuple[end, end], BeforeValidator(_as_pair), AfterValidator(_ordered)]


def _above_zero(pair: tuple[float, float]) -> tuple[float, float]:
    """ζ = 0 is a flat wall, for which the roughness exponent means nothing."""
    if pair[0] <= 0:
        raise _invalid("must be above 0")
    return pair


def _as_sizes(value: Any) -> Any:
    """Accept one size (``length: 128``) as a one-element list."""
    if isinstance(value, int):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise _invalid("must be a list of sizes")
    return value


def _as_edges(value: Any) -> Any:
    if not isinstance(value, (list, tuple)) or len(value) < 2:
        raise _invalid("must be a list of at least two edges")
    return value


def _increasing(edges: tuple[float, ...]) -> tuple[float, ...]:
    if any(right <= left for left, right in zip(edges, edges[1:])):
        raise _invalid("must increase")
    return edges


def _not_blank(text: str) -> str:
    if not text.strip():
        raise _invalid("must be a non-empty string")
    return text


def _model_kind(value: Any) -> Any:
    if value not in MODEL_KINDS:
        raise _invalid(f"must be one of {list(MODEL_KINDS)}, got {value!r}")
    return value


def _mapping_or_defaults(value: Any) -> Any:
    """An empty ``lab:`` (YAML null) means every default."""
    return value or {}


def _named_families(value: Any) -> Any:
    """Hand each family spec its name: the YAML states it once, as the mapping key."""
    if not isinstance(value, Mapping) or not value:
        raise _invalid("must be a non-empty mapping")
    return {name: {**spec, "name": name} if isinstance(spec, Mapping) else spec
            for name, spec in value.items()}


def _every_split(value: Any, info: ValidationInfo) -> Any:
    """Require exactly the splits in SPLITS, naming known families only, and keep SPLITS order.

    Family names are checked before the counts: a renamed family is the likelier mistake, and
    its message lists the names that would do.
    """
    if not isinstance(value, Mapping):
        return value  # pydantic reports "must be a mapping"
    for split in SPLITS:
        if split not in value:
            raise _invalid("is missing", split)
    unknown = sorted(str(name) for name in value if name not in SPLITS)
    if unknown:
        raise _invalid(f"has unknown split(s) {unknown}; expected {list(SPLITS)}")
    families = info.data.get("families")  # absent when the families were invalid themselves
    for split in SPLITS:
        if families and isinstance(value[split], Mapping):
            _require_known(value[split], families, split)
    return {split: value[split] for split in SPLITS}


def _require_known(counts: Mapping[Any, Any], families: Mapping[str, Any], split: str) -> None:
    for family in counts:
        if family not in families:
            raise _invalid(f"names an unknown family (known: {', '.join(families)})", split, family)


def _as_counts(value: Any) -> Any:
    if not isinstance(value, Mapping) or not value:
        raise _invalid("must map family names to sample counts")
    return value


Flag = StrictBool
Text = Annotated[str, Strict(), AfterValidator(_not_blank)]
SplitCounts = Annotated[dict[str, _integer(low=1)], BeforeValidator(_as_counts)]


# --- the parameter classes ---------------------------------------------------------------------

_NO_UNKNOWN_KEYWORDS = ConfigDict(extra="forbid")


@dataclass(frozen=True, config=_NO_UNKNOWN_KEYWORDS)
class _Block:
    """Base of the parameter classes: how a ``params.yaml`` mapping differs from a call in code.

    In code, a misspelt keyword is an error (as for any dataclass). In the YAML, keys the class
    does not know are skipped unless ``rejects_unknown_keys`` (a misspelt ``epoch`` must not
    silently train for the default number of epochs); ``yaml_required`` keys must be stated even
    where the class has a default, so that the file records them; ``yaml_defaults`` fill keys the
    file may leave out although code must pass them.
    """

    rejects_unknown_keys: ClassVar[bool] = False
    yaml_required: ClassVar[tuple[str, ...]] = ()
    yaml_defaults: ClassVar[Mapping[str, Any]] = MappingProxyType({})

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data  # a call in code (pydantic's ArgsKwargs), or a non-mapping it reports
        for key in cls.yaml_required:
            if key not in data:
                raise _invalid("is missing", key)
        if not cls.rejects_unknown_keys:
            known = {f.name for f in dataclasses.fields(cls)}
            data = {key: value for key, value in data.items() if key in known}
        return {**cls.yaml_defaults, **data}


@dataclass(frozen=True, config=_NO_UNKNOWN_KEYWORDS)
class LabParams(_Block):
    """Ranges of the lab-image degradations, drawn per image (see ``physics.rendering``).

    ``contrast`` and ``cnr`` (per-pixel contrast-to-noise ratio) are log-uniform, the other ranges
    uniform; each ``*_share`` is the probability that an image gets that degradation.
    """

    contrast: _range(0.01, 1.0) = (0.25, 1.0)
    cnr: _range(0.1, 1000.0) = (2.5, 50.0)
    illumination_gradient: _range(0.0, 1.0) = (0.0, 0.35)
    blur_sigma_px: _range(0.0, 20.0) = (0.5, 2.0)
    defocus_share: _number(0.0, 1.0) = 0.0
    motion_share: _number(0.0, 1.0) = 0.0
    poisson_share: _number(0.0, 1.0) = 0.0
    banding: _range(0.0, 10.0) = (0.0, 0.0)
    defects: _range(0.0, 0.1) = (0.0, 0.0)
    jpeg_share: _number(0.0, 1.0) = 0.0
    jpeg_quality: _range(1, 100, integer=True) = (50, 95)
    binarized_share: _number(0.0, 1.0) = 0.0
    islands: _range(0, 1000, integer=True) = (0, 8)
    island_radius_px: _range(0.0, 50.0) = (1.0, 3.0)
    rotation_deg: _number(0.0, 45.0) = 3.0


#: Interface physics a family can be simulated with (``physics.interfaces.families`` names;
#: "gaussian" is the spectral synthesis with ζ drawn per wall). A crossover has no single
#: exponent to train on, so it is not offered.
PHYSICS = ("gaussian", "dprm", "thermal", "depinning_sr", "depinning_lr")


def _physics_name(value: Any) -> Any:
    if value not in PHYSICS:
        raise ValueError(f"physics must be one of {', '.join(PHYSICS)}, not {value!r}")
    return value


@dataclass(frozen=True, config=_NO_UNKNOWN_KEYWORDS)
class FamilyParams(_Block):
    """One kind of synthetic sample: sizes along and across the wall, periodicity, lab rendering, physics.

    ``transverse`` (optional) lists the sizes across the wall, drawn independently of ``length``:
    long narrow strips, the shape of a wall straightened out of a full frame. Without it images are
    square. ``cnr`` (optional, lab families only) replaces the lab block's contrast-to-noise range
    for this family, e.g. the CNR ~ 1 of Kerr frames.
    """

    name: str
    length: Annotated[tuple[_integer(16, 16384), ...], BeforeValidator(_as_sizes)]
    periodic: Flag = False
    lab: Flag = False
    physics: Annotated[str, AfterValidator(_physics_name)] = "gaussian"
    transverse: Annotated[tuple[_integer(16, 16384), ...], BeforeValidator(_as_sizes)] | None = None
    cnr: _range(0.1, 1000.0) | None = None

    @model_validator(mode="after")
    def _simulated_walls_are_open(self):
        if self.periodic and self.physics != "gaussian":
            raise ValueError(f"periodic walls are only synthesised for physics 'gaussian', not {self.physics!r}")
        if self.cnr is not None and not self.lab:
            raise ValueError("cnr is a lab rendering range: set lab: true or remove cnr")
        return self

    def widths_for(self, length: int) -> tuple[int, ...]:
        """The sizes across the wall that a sample ``length`` px long may have."""
        return (int(length),) if self.transverse is None else self.transverse


@dataclass(frozen=True, config=_NO_UNKNOWN_KEYWORDS)
class GenerateParams(_Block):
    """The ``generate`` block: what the synthetic train, validation and test splits contain."""

    yaml_defaults: ClassVar[Mapping[str, Any]] = MappingProxyType({"max_clipped_fraction": 0.02, "lab": {}})

    seed: _integer(low=0)
    zeta_range: Annotated[_range(0.0, 3.0), AfterValidator(_above_zero)]
    width_fraction_range: _range(1e-4, 0.5)
    oversample: _integer(1, 64)
    max_clipped_fraction: _number(0.0, 1.0)
    lab: Annotated[LabParams, BeforeValidator(_mapping_or_defaults)]
    families: Annotated[dict[str, FamilyParams], BeforeValidator(_named_families)]
    splits: Annotated[dict[str, SplitCounts], BeforeValidator(_every_split)]


@dataclass(frozen=True, config=_NO_UNKNOWN_KEYWORDS)
class TrainParams(_Block):
    """The ``train`` block: network size and optimisation (defaults suit tests built in code)."""

    rejects_unknown_keys: ClassVar[bool] = True
    yaml_required: ClassVar[tuple[str, ...]] = ("model", "seed", "epochs", "batch_size", "learning_rate")

    seed: _integer(low=0) = 7
    model: Annotated[str, BeforeValidator(_model_kind)] = "regressor"
    epochs: _integer(low=1) = 12
    batch_size: _integer(low=1) = 32
    learning_rate: _number(1e-7, 1.0) = 2e-3
    early_stopping_patience: _integer(low=0) = 3
    stem_filters: _integer(low=1) = 8
    tower_filters: _integer(low=1) = 24
    tower_levels: _integer(1, 12) = 6
    weight_average_epochs: _number(0.0, 100.0) = 0.0
    learning_rate_decay_epochs: _integer(low=0) = 0
    nll_beta: _number(0.0, 1.0) = 0.0
    mixed_precision: Flag = False


@dataclass(frozen=True, config=_NO_UNKNOWN_KEYWORDS)
class EvaluateParams(_Block):
    """The ``evaluate`` block: what counts as accurate and how results are binned by ζ."""

    yaml_required: ClassVar[tuple[str, ...]] = ("zeta_bins", "accuracy_tolerance")

    accuracy_tolerance: _number(1e-6, 1.0) = 0.025
    zeta_bins: Annotated[tuple[_number(), ...], BeforeValidator(_as_edges), AfterValidator(_increasing)] = ()
    report_range: _range(0.0, 3.0) = (0.1, 1.0)


@dataclass(frozen=True, config=_NO_UNKNOWN_KEYWORDS)
class RegisterParams(_Block):
    """The ``register`` block: names in the MLflow registry and tracking server."""

    yaml_required: ClassVar[tuple[str, ...]] = ("model_name",)

    model_name: Text = "roughml"
    experiment: Text = "roughml"


@dataclass(frozen=True, config=_NO_UNKNOWN_KEYWORDS)
class ValidateParams(_Block):
    """The ``validate`` block: thresholds of the generated-data expectations."""

    yaml_required: ClassVar[tuple[str, ...]] = ("zeta_bins", "min_bin_share", "max_clipped_fraction")

    zeta_bins: _integer(low=1) = 10
    min_bin_share: _number(0.0, 1.0) = 0.5
    max_clipped_fraction: _number(0.0, 1.0) = 0.02
    sample_images: _integer(low=0) = 64


# --- pydantic's errors as one readable line ----------------------------------------------------

_TEMPLATES = {
    "missing": "is missing",
    "int_type": "must be an integer, got {input!r}",
    "float_type": "must be a number, got {input!r}",
    "bool_type": "must be true or false, got {input!r}",
    "string_type": "must be a non-empty string",
    "dict_type": "must be a mapping",
    "dataclass_type": "must be a mapping",
    "greater_than_equal": "must be >= {ge}, got {input!r}",
    "less_than_equal": "must be <= {le}, got {input!r}",
}
_UNKNOWN_KEY_TYPES = ("unexpected_keyword_argument", "extra_forbidden")
_DICT_KEY = "[key]"  # pydantic's location of a mapping key (rather than its value)


def _dotted(where: str, *keys: Any) -> str:
    """``train.epochs`` from pydantic's location; list positions are left out, like the YAML's."""
    return ".".join([where, *(str(key) for key in keys if not isinstance(key, int) and key != _DICT_KEY)])


def _describe(error: Mapping[str, Any]) -> str:
    """The part of the message after the key path, for one pydantic error."""
    if error["type"] == _ERROR_TYPE:
        return error["ctx"]["message"]
    if error["loc"] and error["loc"][-1] == _DICT_KEY:
        return f"has a key that is not a string: {error['input']!r}"
    template = _TEMPLATES.get(error["type"])
    if template is None:
        return f"is invalid ({error['msg']})"
    return template.format(input=error["input"], **error.get("ctx", {}))


def _params_error(exc: ValidationError, where: str) -> ParamsError:
    """One ``ParamsError`` line for the first of pydantic's errors in block ``where``.

    Unknown keys are the exception: all of them at the first one's level are listed together, so
    that fixing a file takes one run, not one per typo.
    """
    errors = exc.errors()
    first = errors[0]
    if first["type"] in _UNKNOWN_KEY_TYPES:
        parent = first["loc"][:-1]
        unknown = sorted(str(e["loc"][-1]) for e in errors
                         if e["type"] in _UNKNOWN_KEY_TYPES and e["loc"][:-1] == parent)
        return ParamsError(f"unknown key(s) in '{_dotted(where, *parent)}': {unknown}")
    below = first.get("ctx", {}).get("below", ()) if first["type"] == _ERROR_TYPE else ()
    return ParamsError(f"'{_dotted(where, *first['loc'], *below)}' {_describe(first)}")


_Params = TypeVar("_Params")


def _parse(schema: type[_Params], params: Mapping[str, Any], name: str) -> _Params:
    """Block ``name`` of ``params`` as an instance of ``schema``, or a ParamsError naming the key."""
    try:
        return TypeAdapter(schema).validate_python(block(params, name))
    except ValidationError as exc:
        raise _params_error(exc, name) from None


def generate_params(params: Mapping[str, Any]) -> GenerateParams:
    """Check and return the ``generate`` block."""
    return _parse(GenerateParams, params, "generate")


def train_params(params: Mapping[str, Any]) -> TrainParams:
    """Check and return the ``train`` block."""
    return _parse(TrainParams, params, "train")


def evaluate_params(params: Mapping[str, Any]) -> EvaluateParams:
    """Check and return the ``evaluate`` block."""
    return _parse(EvaluateParams, params, "evaluate")


def register_params(params: Mapping[str, Any]) -> RegisterParams:
    """Check and return the ``register`` block."""
    return _parse(RegisterParams, params, "register")


def validate_params(params: Mapping[str, Any]) -> ValidateParams:
    """Check and return the ``validate`` block."""
    return _parse(ValidateParams, params, "validate")


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten nested params to ``{"generate.lab.contrast": "[0.25, 1.0]", ...}`` for MLflow.

    MLflow stores parameters as flat string pairs; dotted keys keep the YAML's structure readable.
    """
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, prefix=f"{name}."))
        else:
            flat[name] = str(value)
    return flat
