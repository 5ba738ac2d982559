"""The ``warning`` column: why a row's ζ deserves a second look, in a few words.

Why: the model's σ is honest only on walls that resemble the training walls (64–4096 px long,
ζ in [0.05, 1.25]); outside them, and where the model and the classical Whittle fit of the same
wall disagree beyond their combined σ, a number can look precise and still be wrong. Each rule
below is a small pure function that returns its reason or None; :func:`model_warning` (rows of
``roughml predict`` and of the pyfunc) and :func:`classical_warning` (rows of
``roughml estimate``) join the reasons of a record with :data:`SEPARATOR`. A row without reasons
gets '' (empty), error rows too.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from roughml.serving.rows import CLASSICAL_STD_KEY

__all__ = ["DISAGREEMENT_SIGMAS", "MAX_MODEL_STD", "SEPARATOR", "TRAINED_LENGTH_PX", "TRAINED_ZETA", "ZETA_EDGE",
           "classical_warning", "disagreement", "length_outside", "model_uncertain", "model_warning",
           "wall_length", "zeta_at_edge"]

#: ζ range of the training walls (params.yaml ``generate.zeta_range``).
TRAINED_ZETA = (0.05, 1.25)
#: A model ζ below the first or above the second is at the edge of :data:`TRAINED_ZETA`: the network
#: saw few walls beyond it and its outputs are pulled towards the inside of the range.
ZETA_EDGE = (0.1, 1.2)
#: Wall lengths (px) the model was trained on.
TRAINED_LENGTH_PX = (64, 4096)
#: Model and classical ζ disagree when they are further apart than this many combined σ.
DISAGREEMENT_SIGMAS = 2.0
#: A model σ above this says the network itself does not know ζ to better than a quarter.
MAX_MODEL_STD = 0.25
#: Joins several reasons in one cell.
SEPARATOR = "; "


def _finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite number, else None (None, NaN, ±inf, text)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def disagreement(zeta: float | None, zeta_std: float | None, zeta_classical: float | None,
                 classical_std: float | None) -> str | None:
    """The reason when the model and the classical fit disagree beyond their combined σ.

    Why: the two estimates are independent readings of one wall; when they lie further apart than
    :data:`DISAGREEMENT_SIGMAS` · sqrt(σ_model² + σ_classical²), at least one σ understates the
    error, typically because the wall is unlike the training walls (blur, noise, a crossover).

    Parameters
    ----------
    zeta, zeta_std : float or None
        The model's ζ and σ.
    zeta_classical, classical_std : float or None
        The Whittle fit's ζ and standard error.

    Returns
    -------
    str or None
        e.g. ``model and classical fit disagree: 0.62 vs 0.41 (2.6σ)``; None when they agree or when
        either ζ is missing. A missing (NaN) σ counts as 0; an infinite σ agrees with everything.
    """
    model, classical = _finite(zeta), _finite(zeta_classical)
    if model is None or classical is None:
        return None
    sigmas = [0.0 if s is None or (isinstance(s, float) and math.isnan(s)) else abs(float(s))
              for s in (zeta_std, classical_std)]
    combined = math.hypot(*sigmas)
    if not math.isfinite(combined) or combined <= 0.0:
        return None
    distance = abs(model - classical) / combined
    if distance <= DISAGREEMENT_SIGMAS:
        return None
    return f"model and classical fit disagree: {model:.2f} vs {classical:.2f} ({distance:.1f}σ)"


def zeta_at_edge(zeta: float | None) -> str | None:
    """The reason when the model's ζ lies at or beyond the edge of the training range.

    Why: near the ends of :data:`TRAINED_ZETA` the network saw walls on one side only, so its
    estimates are biased towards the inside and its σ is too small; beyond them it extrapolates.

    Returns
    -------
    str or None
        The reason when ζ < ``ZETA_EDGE[0]`` or ζ > ``ZETA_EDGE[1]``; None otherwise or when ζ is missing.
    """
    value = _finite(zeta)
    if value is None or ZETA_EDGE[0] <= value <= ZETA_EDGE[1]:
        return None
    low, high = TRAINED_ZETA
    return f"ζ near the edge of the training range [{low:g}, {high:g}]"


def length_outside(length_px: float | None) -> str | None:
    """The reason when a wall is shorter or longer than the training walls.

    Why: the spectral information of a wall grows with its length; the model learnt its σ on
    walls of :data:`TRAINED_LENGTH_PX` and neither ζ nor σ are calibrated outside that range.

    Returns
    -------
    str or None
        e.g. ``wall length 48 px outside the trained 64–4096 px``; None inside, or when the
        length is unknown.
    """
    length = _finite(length_px)
    low, high = TRAINED_LENGTH_PX
    if length is None or low <= length <= high:
        return None
    return f"wall length {length:.5g} px outside the trained {low}–{high} px"


def model_uncertain(zeta_std: float | None) -> str | None:
    """The reason when the model's own σ is very large.

    Why: a σ above :data:`MAX_MODEL_STD` means the model cannot place ζ within a quarter of its
    whole range; the value is close to a guess and should not be averaged without its σ.

    Returns
    -------
    str or None
        e.g. ``model uncertain (σ = 0.31)``; None for a smaller or missing σ.
    """
    sigma = _finite(zeta_std)
    if sigma is None or sigma <= MAX_MODEL_STD:
        return None
    return f"model uncertain (σ = {sigma:.2f})"


def wall_length(record: Mapping[str, Any]) -> float | None:
    """The length (px) of a record's wall: ``length_px`` when finite, else its length along the image.

    Why a fallback: records made before the wall was traced (or by older callers) carry no
    ``length_px``; a single-wall crop's wall then runs along the image's height (orientation
    ``vertical/…``) or width (``horizontal/…``). None when neither is known.
    """
    length = _finite(record.get("length_px"))
    if length is not None:
        return length
    orientation = str(record.get("orientation") or "")
    side = {"vertical": "height", "horizontal": "width"}.get(orientation.split("/")[0])
    return None if side is None else _finite(record.get(side))


def _joined(reasons: list[str | None]) -> str:
    return SEPARATOR.join(reason for reason in reasons if reason)


def model_warning(record: Mapping[str, Any]) -> str:
    """The ``warning`` cell of a model's record: every reason found, joined by :data:`SEPARATOR`.

    Parameters
    ----------
    record : mapping
        A record (or row as dict) with the output columns and, when the classical fit ran, its
        standard error under :data:`roughml.serving.rows.CLASSICAL_STD_KEY`.

    Returns
    -------
    str
        '' for error records and for walls nothing is suspicious about.
    """
    if record.get("status") != "ok":
        return ""
    return _joined([
        disagreement(record.get("zeta"), record.get("zeta_std"), record.get("zeta_classical"),
                     record.get(CLASSICAL_STD_KEY)),
        zeta_at_edge(record.get("zeta")),
        length_outside(wall_length(record)),
        model_uncertain(record.get("zeta_std")),
    ])


def classical_warning(record: Mapping[str, Any]) -> str:
    """The ``warning`` cell of a classical-only record (``roughml estimate``): the wall length only.

    Why only the length: the other reasons judge the model (its range, its σ, its agreement with
    the classical fit); a row of the classical fit alone has no model to judge, but its wall is
    still compared with the walls a model would have been trained on, so that the two commands'
    tables flag the same walls for length. '' for error records.
    """
    if record.get("status") != "ok":
        return ""
    return _joined([length_outside(wall_length(record))])
