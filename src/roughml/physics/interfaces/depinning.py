"""Elastic lines at the depinning threshold: short-range (ζ ≈ 1.25) and long-range (ζ ≈ 0.39).

Why: domain walls driven by a field, crack fronts and contact lines are pinned elastic lines
pushed to the edge of motion. Their roughness at threshold is a different universality class from
equilibrium: super-rough (ζ > 1) with short-range elasticity, much smoother (ζ ≈ 0.39) with the
long-range elasticity of crack fronts and contact lines.

Model (a lattice automaton of the quenched Edwards–Wilkinson equation): integer heights h_i on a
periodic chain of ``system`` sites, quenched disorder η_i(h) uniform with unit variance, and the
force on site i

    f_i = c · E_i[h] + η_i(h_i) + F,

with E the discrete Laplacian h_{i+1} + h_{i−1} − 2h_i (short range) or the 1/r² kernel
Σ_j (h_j − h_i)/d_ij² (long range, d the periodic distance; its Fourier transform is ∝ |q| at
small q). Every site with f_i > 0 advances by one (parallel update). The line only ever moves
forward, so drawing a fresh η when a site reaches a new height *is* quenched disorder: no height
is ever visited twice.

Driving (quasistatic, at threshold): the drive is a soft spring on the mean height,
F = k₀ (w − h̄) with k₀ = 1/system, which ends every avalanche (a line that runs away lowers its
own force; a constant F set at the last threshold can leave a finite line running for ever); when
the line has stopped, w is raised just enough to make the least pinned site unstable, and the next
avalanche starts. The stopped configurations are the metastable states of quasistatic driving,
at the threshold force. A line is sampled at a stop, once its mean height has advanced ``advance``
lattice units from the flat start (≳ 10 saturated widths: with 3× less, the largest scales of the
short-range line were still smoother than at threshold); a window of the requested length is cut
at a random offset of the periodic chain (non-periodic, like a real wall).

Measured (ensemble structure factor, wavelengths 8 px … L, tests/physics/test_simulators.py and
benchmarks/bench_generalization.py): short range ζ = 1.25 ± 0.05 at L = 256 (chain 4L; a chain of
2L reads 1.19: its periodicity smooths the window's largest scales), long range 0.37–0.38 at
L = 256 with 2 lattice sites per pixel (below ~16 sites the strongly pinned lattice line is
smoother, ζ_eff ≈ 0.25–0.33).

Cost: every parallel update costs O(lines × system) whatever the activity (finished lines leave
the lock-step), and the number of updates grows roughly as system². At L = 256 (chain 1024) on one
core of the 2-core benchmark machine the short-range family costs ~220 s per 100 independent walls
(25 lines: 54 s), ~65 s per 100 walls with two samples and two windows per line; the long-range
family (2 sites per pixel, chain 2048) ~9 s per 100 walls.

Portability: the short-range force is an exact integer Laplacian times c (one rounding); the
long-range force is kept as an exact integer (fixed point, the kernel 2^20/d² rounded down) and
updated by an FFT of the 0/1 move mask whose result is rounded back to integers (its float error
is many orders below 0.5); the disorder comes from ``Generator.random``. Every comparison hence
sees the same number on every CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Fixed-point scale of the long-range kernel (K(1) = 2**_KERNEL_BITS).
_KERNEL_BITS = 20
#: Margin by which the least pinned site is pushed over threshold at the start of an avalanche.
_TRIGGER = 1e-9
#: Default elastic constants (disorder has unit variance): chosen so the line is rough on the
#: lattice scale and the known exponent shows from ~8–16 sites up (see tests/physics).
STIFFNESS = {"short": 0.3, "long": 0.05}
#: Default advance before sampling, in units of system**ζ (≳ 10 saturated widths).
ADVANCE = {"short": 1.0, "long": 30.0}
KNOWN_ZETA = {"short": 1.25, "long": 0.39}
#: Default periodic chain, in units of the window length.
SYSTEM = {"short": 4, "long": 4}


@dataclass
class _Line:
    """State of ``n`` periodic lines simulated in lock-step."""

    h: np.ndarray          # int64 (n, M) heights
    eta: np.ndarray        # float64 (n, M) disorder at the current heights
    w: np.ndarray          # float64 (n,) spring position
    conv: np.ndarray       # int64 (n, M) fixed-point K ⊛ h (long range only)


def _long_range_kernel(system: int) -> tuple[np.ndarray, int]:
    """Fixed-point 1/d² kernel on a periodic chain (K(0) = 0) and the sum of its entries."""
    d = np.minimum(np.arange(system), system - np.arange(system)).astype(np.int64)
    kernel = np.zeros(system, dtype=np.int64)
    kernel[1:] = (1 << _KERNEL_BITS) // (d[1:] * d[1:])
    return kernel, int(kernel.sum())


class _Elasticity:
    """Elastic force c·E[h] for short- or long-range elasticity, exact on every CPU."""

    def __init__(self, kind: str, system: int, stiffness: float) -> None:
        self.kind, self.system, self.stiffness = kind, system, float(stiffness)
        if kind == "long":
            kernel, self.kernel_sum = _long_range_kernel(system)
            self.kernel_hat = np.fft.rfft(kernel.astype(np.float64))
            self.scale = self.stiffness / float(1 << _KERNEL_BITS)

    def force(self, line: _Line) -> np.ndarray:
        h = line.h
        if self.kind == "short":
            lap = np.roll(h, 1, axis=1) + np.roll(h, -1, axis=1) - 2 * h
            return self.stiffness * lap
        return self.scale * (line.conv - h * self.kernel_sum)

    def moved(self, line: _Line, mask: np.ndarray) -> None:
        """Update the long-range convolution after the sites in ``mask`` advanced by one."""
        if self.kind == "long":
            delta = np.fft.irfft(np.fft.rfft(mask.astype(np.float64), axis=1) * self.kernel_hat,
                                 n=self.system, axis=1)
            line.conv += np.rint(delta).astype(np.int64)


def _disorder(rng: np.random.Generator, shape) -> np.ndarray:
    """Quenched pinning forces, uniform with unit variance (the mean only shifts the threshold)."""
    return rng.random(shape) * np.sqrt(12.0)


def _new_lines(rng: np.random.Generator, n: int, m: int) -> _Line:
    """``n`` flat lines of ``m`` sites with fresh disorder, spring at 0."""
    return _Line(h=np.zeros((n, m), np.int64), eta=_disorder(rng, (n, m)), w=np.zeros(n),
                 conv=np.zeros((n, m), np.int64))


def _keep(line: _Line, rows: np.ndarray) -> _Line:
    """The lines in ``rows`` only (finished lines leave the lock-step update)."""
    return _Line(h=line.h[rows], eta=line.eta[rows], w=line.w[rows], conv=line.conv[rows])


def _step(elastic: _Elasticity, line: _Line, k0: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One parallel update's decisions: (line was stopped, its mean height, sites that advance).

    A stopped line (no site with f > 0) first gets its spring raised just enough to make its least
    pinned site unstable; every site with f > 0 then advances by one and draws fresh disorder.
    """
    m = elastic.system
    mean = line.h.sum(axis=1) / m                      # exact integer sum, one division
    f = elastic.force(line) + line.eta
    top = f.max(axis=1) + k0 * (line.w - mean)
    stopped = top <= 0.0
    line.w = np.where(stopped, line.w + (_TRIGGER - top) / k0, line.w)
    mask = f + (k0 * (line.w - mean))[:, None] > 0.0
    return stopped, mean, mask


def _run(rng: np.random.Generator, elastic: _Elasticity, n: int, advance: float, samples: int,
         spacing: float, k0: float, max_iterations: int) -> np.ndarray:
    """Drive ``n`` lines at threshold; return ``samples`` stopped configurations per line."""
    line = _new_lines(rng, n, elastic.system)
    out = np.empty((n, samples, elastic.system), dtype=np.int64)
    rows = np.arange(n)                                # original index of every line still running
    taken = np.zeros(n, dtype=np.int64)
    next_at = np.full(n, float(advance))
    for _ in range(max_iterations):
        stopped, mean, mask = _step(elastic, line, k0)
        record = stopped & (mean >= next_at)           # a stopped line is at threshold: sample it
        for i in np.flatnonzero(record):
            out[rows[i], taken[i]] = line.h[i]
        taken += record
        next_at = np.where(record, mean + spacing, next_at)
        running = taken < samples
        if not running.all():
            if not running.any():
                return out
            line, mask = _keep(line, running), mask[running]
            rows, taken, next_at = rows[running], taken[running], next_at[running]
        line.h += mask
        line.eta[mask] = _disorder(rng, int(np.count_nonzero(mask)))
        elastic.moved(line, mask)
    raise RuntimeError(f"depinning lines not sampled after {max_iterations} updates; "
                       "lower advance or raise max_iterations")


def depinning_profiles(rng: np.random.Generator, n: int, length: int, *, elasticity: str = "short",
                       system: int | None = None, stiffness: float | None = None,
                       advance: float | None = None, samples_per_line: int = 1,
                       windows_per_sample: int = 1, spacing: float | None = None,
                       max_iterations: int = 5_000_000) -> np.ndarray:
    """``n`` windows of ``length`` sites of lines at the depinning threshold (integer heights).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the disorder and of the window offsets.
    n, length : int
        Number of walls returned and points per wall.
    elasticity : {"short", "long"}
        Laplacian (quenched Edwards–Wilkinson, ζ ≈ 1.25) or 1/r² kernel (ζ ≈ 0.39).
    system : int, optional
        Sites of the periodic chain the windows are cut from (default :data:`SYSTEM` · length).
        A window of half the chain has its largest scales smoothed by the periodicity (short range:
        ζ reads ≈ 1.19 over 8 px … L with a chain of 2L, ≈ 1.24 with 4L).
    stiffness : float, optional
        Elastic constant c against unit-variance disorder (default :data:`STIFFNESS`).
    advance : float, optional
        Mean displacement before the first sample (default :data:`ADVANCE` · system**ζ).
    samples_per_line, spacing : int, float
        Stopped configurations taken from each simulated line, ``spacing`` apart in mean height
        (default advance/4).
    windows_per_sample : int
        Windows cut from each configuration, evenly spaced around the chain (at most system/length).
        Windows of one line share its largest modes, so they are not independent walls; the
        default 1 and ``samples_per_line=1`` give independent walls at the highest cost.
    max_iterations : int
        Safety limit on parallel updates.

    Returns
    -------
    ndarray
        int64, shape (n, length); heights relative to nothing in particular (subtract the mean).
    """
    if elasticity not in STIFFNESS:
        raise ValueError(f"elasticity must be one of {tuple(STIFFNESS)}, got {elasticity!r}")
    system = SYSTEM[elasticity] * length if system is None else int(system)
    per = int(samples_per_line) * int(windows_per_sample)
    if length < 2 or n < 0 or per < 1 or system < length * windows_per_sample:
        raise ValueError("need length >= 2, n >= 0, samples and windows >= 1, "
                         "system >= length * windows_per_sample")
    c = STIFFNESS[elasticity] if stiffness is None else float(stiffness)
    advance = ADVANCE[elasticity] * system ** KNOWN_ZETA[elasticity] if advance is None else float(advance)
    spacing = advance / 4.0 if spacing is None else float(spacing)
    lines = -(-n // per)
    configs = _run(rng, _Elasticity(elasticity, system, c), lines, advance, samples_per_line,
                   spacing, 1.0 / system, max_iterations).reshape(lines * samples_per_line, system)
    offsets = rng.integers(0, system, size=configs.shape[0])[:, None] \
        + (np.arange(windows_per_sample) * system) // windows_per_sample
    index = (offsets[:, :, None] + np.arange(length)) % system
    windows = np.take_along_axis(configs[:, None, :], index, axis=2)
    return windows.reshape(-1, length)[:n]
