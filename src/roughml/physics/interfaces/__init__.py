"""Physical interface simulators: directed polymer, thermal line, depinning (short and long range),
crossovers, and the ensemble measurements that label them.

Why a sub-package of :mod:`roughml.physics`: like the Fourier-filtered synthesis, these work on
plain arrays and a ``numpy.random.Generator`` and know nothing of files or configuration; they are
the families an estimator trained on Gaussian lines has never seen.

Modules: :mod:`.polymer` (DPRM, ζ = 2/3), :mod:`.lines` (thermal line ζ = 1/2, broken power law
crossover), :mod:`.depinning` (quenched EW ζ ≈ 1.25, long-range ζ ≈ 0.39), :mod:`.measure`
(ensemble structure-factor exponent, local exponents, real-space B(r) fit), :mod:`.families` (the
table of families and heights → image columns).
"""

__all__ = ["depinning", "families", "lines", "measure", "polymer"]
