"""Physics layer: synthesis of self-affine interfaces, rendering, spectral estimators, Cramér–Rao bound,
ensemble fits over many walls.

Everything here works on height profiles h(x) and on images held in memory as arrays; it knows
nothing of image files, datasets or configuration files (callers pass plain numbers), so it can be
reused and tested on its own. Only :mod:`roughml.core` lies below it.
"""

__all__ = ["ensemble", "geometry", "interfaces", "portable", "rendering", "spectral", "synthesis", "whittle_fit"]
