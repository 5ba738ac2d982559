"""Orientation and polarity of a wall in an image: one table, its forward map and its inverse.

Geometry contract (rendering, detection and validation all rely on it exactly). The *canonical*
image of heights ``h`` (length L) in a transverse size W is ``C`` of shape (L, W) with
``C[x, j] = 1`` (bright) if ``j >= h[x]`` else 0 (dark): the wall runs from top to bottom, one
dark→bright transition per row, and row ``x`` holds exactly ``h[x]`` dark pixels. Every stored or
detected geometry is a flip and/or a transpose of ``C``:

===========  ===========  =======================  ====  =========
orientation  bright_side  image                    flip  transpose
===========  ===========  =======================  ====  =========
vertical     right        ``C``            (L, W)  no    no
vertical     left         ``C[:, ::-1]``   (L, W)  yes   no
horizontal   bottom       ``C.T``          (W, L)  no    yes
horizontal   top          ``C.T[::-1, :]`` (W, L)  yes   yes
===========  ===========  =======================  ====  =========

Why one module: :func:`orient` (used to render) and :func:`canonical_view` (used to read an
image back) are inverses; both follow from :func:`_transform`, so they cannot drift apart.
"""

from __future__ import annotations

import numpy as np

ORIENTATIONS = ("vertical", "horizontal")
#: Per orientation, the bright side of the canonical image first, then the flipped one.
BRIGHT_SIDES = {"vertical": ("right", "left"), "horizontal": ("bottom", "top")}


def is_geometry(orientation: str, bright_side: str) -> bool:
    """True when ``(orientation, bright_side)`` is one of the four rows of the module table."""
    return orientation in BRIGHT_SIDES and bright_side in BRIGHT_SIDES[orientation]


def check_geometry(orientation: str, bright_side: str) -> None:
    """Raise ``ValueError`` naming the valid values unless the geometry is in the module table."""
    if orientation not in BRIGHT_SIDES:
        raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {orientation!r}")
    if bright_side not in BRIGHT_SIDES[orientation]:
        raise ValueError(f"bright_side for {orientation!r} must be one of "
                         f"{BRIGHT_SIDES[orientation]}, got {bright_side!r}")


def _transform(orientation: str, bright_side: str) -> tuple[bool, bool]:
    """(flip, transpose) of the canonical image for one geometry (see the module table).

    The flip reverses the transverse axis of ``C`` (axis 1), the transpose turns the wall
    horizontal; the forward map flips first, its inverse transposes back first.
    """
    check_geometry(orientation, bright_side)
    return bright_side == BRIGHT_SIDES[orientation][1], orientation == "horizontal"


def orient(canonical: np.ndarray, orientation: str = "vertical", bright_side: str = "right") -> np.ndarray:
    """Map a canonical (L, W) image to the requested geometry (a C-contiguous array).

    Contiguous so that the image is laid out in memory like one read from a file.
    """
    flip, transpose = _transform(orientation, bright_side)
    out = canonical[:, ::-1] if flip else canonical
    return np.ascontiguousarray(out.T if transpose else out)


def canonical_view(image: np.ndarray, orientation: str, bright_side: str) -> np.ndarray:
    """Inverse of :func:`orient`: the canonical view of ``image`` (a view, never a copy).

    Raises
    ------
    ValueError
        For a geometry outside the module table or an image that is not 2-D.
    """
    flip, transpose = _transform(orientation, bright_side)
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {arr.shape}")
    out = arr.T if transpose else arr
    return out[:, ::-1] if flip else out


def image_coordinates(rows: np.ndarray, cols: np.ndarray, canonical_width: int, orientation: str,
                      bright_side: str) -> tuple[np.ndarray, np.ndarray]:
    """Image (row, column) of points given in the canonical view's (row, column).

    The inverse of :func:`canonical_view` applied to coordinates, so that what was measured on the
    canonical view (a wall's profile, its centroid) can be drawn on the image it came from.
    ``canonical_width`` is the canonical view's number of columns.
    """
    flip, transpose = _transform(orientation, bright_side)
    rows, cols = np.asarray(rows, dtype=np.float64), np.asarray(cols, dtype=np.float64)
    if flip:
        cols = (canonical_width - 1) - cols
    return (cols, rows) if transpose else (rows, cols)
