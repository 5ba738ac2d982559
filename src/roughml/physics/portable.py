"""Elementary functions that give the same bits on every CPU.

Why: NumPy picks SIMD kernels for ``exp`` and ``log`` at run time (AVX-512, AVX2, …), and they
differ in the last bit. The generated datasets are compared by hash (DVC), so every float that
enters them must be computed from IEEE-754 additions, multiplications and divisions alone, which
are correctly rounded everywhere. Range reduction uses ``frexp``/``ldexp`` (exact) and the
polynomials are evaluated with separate multiply and add ufunc calls (NumPy never fuses them).
Accuracy: a few units in the last place, far below anything the physics can see.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

_LN2_HI = 6.93147180369123816490e-01   # ln 2 split so that k * _LN2_HI is exact for |k| < 2**20
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_EXP_TERMS = 18          # Taylor terms of exp(r) for |r| <= ln(2)/2: last term < 1e-19
_LOG_TERMS = 12          # atanh-series terms of log(m) for m in [sqrt(1/2), sqrt(2)): last < 1e-19


def exp(x: ArrayLike) -> np.ndarray:
    """``e**x`` (float64) from additions and multiplications only: the same bits on every CPU."""
    x = np.asarray(x, dtype=np.float64)
    k = np.rint(x * _INV_LN2)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    total = np.ones_like(r)
    term = np.ones_like(r)
    for n in range(1, _EXP_TERMS):
        term = term * r / n
        total = total + term
    return np.ldexp(total, k.astype(np.int64))


def log(x: ArrayLike) -> np.ndarray:
    """Natural logarithm (float64, x > 0) from additions, multiplications and divisions only."""
    x = np.asarray(x, dtype=np.float64)
    mantissa, exponent = np.frexp(x)                 # x = mantissa * 2**exponent, mantissa in [0.5, 1)
    low = mantissa < np.sqrt(0.5)
    mantissa = np.where(low, mantissa * 2.0, mantissa)   # now in [sqrt(1/2), sqrt(2))
    exponent = exponent - low
    s = (mantissa - 1.0) / (mantissa + 1.0)
    s2 = s * s
    total = np.zeros_like(s)
    power = s
    for n in range(_LOG_TERMS):
        total = total + power / (2 * n + 1)
        power = power * s2
    return 2.0 * total + exponent * _LN2_HI + exponent * _LN2_LO
