"""Directed polymer in a random medium (DPRM), 1+1 dimensions: ζ = 2/3 exactly.

Why: the simplest physical interface that is not a Gaussian line. A zero-temperature directed
polymer is the ground state of an elastic line in random-bond disorder, the equilibrium
universality class of magnetic domain walls in ultrathin films (Lemerle et al. 1998). Its height
increments are lattice steps (−1, 0, +1) and its fluctuations are not Gaussian (Tracy–Widom), so
it probes whether an estimator reads ζ or only a second-order statistic it learned on Gaussian
lines.

Model: independent standard Gaussian energies E(x, y) on a lattice; the polymer runs along x (the image rows),
one transverse position y per row, steps |y(x) − y(x−1)| ≤ 1. Transfer matrix at zero temperature
(dynamic programming): ``C(x, y) = E(x, y) + min(C(x−1, y−1), C(x−1, y), C(x−1, y+1))``, starting
from one point and with a free end; the ground state is traced back from the cheapest end. A
window of the requested length is cut from the middle of a polymer twice as long, so that neither
the pinned start nor the free end is in it. Everything is additions and comparisons of the drawn
energies (no ``exp``/``log`` of ours), so the paths are the same on every CPU that draws the same
numbers from ``Generator.standard_normal`` (as :mod:`roughml.physics.synthesis` relies on too).

The energy law matters at T = 0 (the minimum sees its low tail): at L = 256 the ensemble exponent
over 8 … 256 px reads 0.656 for Gaussian energies against 0.631 for uniform ones (800 walls,
±0.007), the Gaussian's local slope reaching 0.67 over the largest scales.

Small scales: the step constraint makes the polymer a lattice walk below a few lattice units
(ζ_eff ≈ 0.3 over 2–8 units, 0.53 over all scales of a 256 window); the ensemble structure factor
(:mod:`roughml.physics.interfaces.measure`) shows 0.655 ± 0.01 over 8 … 256 units (400 walls),
approaching 2/3 at the largest scales. Cost: ~0.8 s per 100 walls of 256 (box 769 wide).
"""

from __future__ import annotations

import numpy as np

#: Transverse box half-width as a multiple of total_length**(2/3) (the excursion scale).
BOX_FACTOR = 6.0
#: Walls simulated together: bounds the memory of the back-pointers (n × total × box bytes).
BATCH = 64


def box_half_width(total_length: int, box_factor: float = BOX_FACTOR) -> int:
    """Half-width of the transverse box: the polymer's light cone when that is narrower.

    The excursion of a polymer of ``T`` rows scales as T^{2/3} with a prefactor of order one for
    unit-variance energies; six times that keeps every ground state far from the box edges, and a
    polymer that starts at the centre can never leave its light cone |y| ≤ T.
    """
    return int(min(total_length, np.ceil(box_factor * total_length ** (2.0 / 3.0))))


def _ground_states(rng: np.random.Generator, n: int, total: int, half: int) -> np.ndarray:
    """Ground-state paths (int64, shape (n, total)) in a box of 2·half+1 columns, start at its centre."""
    width = 2 * half + 1
    cost = np.full((n, width + 2), np.inf)   # one padding column each side stays +inf: hard walls
    cost[:, half + 1] = 0.0
    steps = np.empty((total, n, width), dtype=np.int8)
    for x in range(total):
        left, centre, right = cost[:, :-2], cost[:, 1:-1], cost[:, 2:]
        best = np.minimum(np.minimum(left, centre), right)
        # Back-pointer: where the path came from (−1 left, 0 straight, +1 right); prefer straight.
        steps[x] = np.where(centre <= best, 0, np.where(left <= best, -1, 1))
        cost[:, 1:-1] = best + rng.standard_normal((n, width))
    y = np.argmin(cost[:, 1:-1], axis=1)
    rows = np.arange(n)
    path = np.empty((n, total), dtype=np.int64)
    for x in range(total - 1, -1, -1):
        path[:, x] = y
        y = y + steps[x, rows, y]
    return path - half


def directed_polymer_profiles(rng: np.random.Generator, n: int, length: int, *,
                              box_factor: float = BOX_FACTOR) -> np.ndarray:
    """``n`` DPRM ground states of ``length`` rows: integer heights, steps in {−1, 0, +1}.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the disorder: the same generator state gives the same polymers.
    n, length : int
        Number of walls and points per wall.
    box_factor : float
        Transverse half-width of the box in units of (2·length)^{2/3} (see :func:`box_half_width`).

    Returns
    -------
    ndarray
        int64, shape (n, length): transverse positions relative to the polymer's starting point,
        cut from rows length/2 … 3·length/2 of a polymer 2·length rows long.
    """
    if n < 0 or length < 2:
        raise ValueError(f"need n >= 0 and length >= 2, got n={n}, length={length}")
    total = 2 * length
    half = box_half_width(total, box_factor)
    start = length // 2
    out = np.empty((n, length), dtype=np.int64)
    for first in range(0, n, BATCH):
        count = min(BATCH, n - first)
        paths = _ground_states(rng, count, total, half)
        if np.any(np.abs(paths) >= half) and half < total:
            raise RuntimeError("a directed polymer reached the edge of its box; raise box_factor")
        out[first:first + count] = paths[:, start:start + length]
    return out
