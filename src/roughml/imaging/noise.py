"""Pixel noise of a filtered image, robust to the few pixels that hold a wall.

Why a module of its own: both wall detectors (:mod:`.detection` and :mod:`.faint`) judge a step
against the noise of the very image they filtered, and must measure it the same way.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import median_abs_deviation


def robust_sigma(filtered: np.ndarray, max_samples: int) -> float:
    """Robust standard deviation (1.4826 · MAD) of a 2-D ``filtered`` image from ~``max_samples`` values.

    Most pixels are far from any wall, so the median absolute deviation is the pixel noise; a
    regular subsample (every k-th row and column) gives the same median to well below its own
    sampling error, at a fraction of the cost.
    """
    stride = max(1, int(np.sqrt(filtered.size / max_samples)))
    sample = filtered[::stride, ::stride].ravel()
    # × 1.4826 rather than scale="normal" (1/Φ⁻¹(3/4) = 1.4826022…): keeps detections bit-identical.
    return 1.4826 * float(median_abs_deviation(sample))
