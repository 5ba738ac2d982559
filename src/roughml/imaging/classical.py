"""The classical estimate of one image: find the wall, extract its profile, fit Whittle.

Why here and not in :mod:`roughml.physics.spectral`: the spectral fits work on height profiles and
know nothing of images; finding the wall in an image is imaging's job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from roughml.imaging import detection
from roughml.physics.spectral import estimate_profile


@dataclass(frozen=True)
class ClassicalEstimate:
    """Classical ζ of one image, with the geometry the wall was found in."""

    zeta: float
    zeta_std: float
    zeta_structure_factor: float
    orientation: str
    bright_side: str
    length: int


def estimate_image(gray: np.ndarray, orientation: detection.Orientation | None = None) -> ClassicalEstimate:
    """Detect the wall in a grayscale image and estimate its ζ with Whittle.

    Clean binary images use the known quantisation noise floor; grayscale images fit it. Optical
    blur smooths the extracted wall below its width, so on blurred images ζ is overestimated.

    Parameters
    ----------
    gray : ndarray
        2-D grayscale image, any orientation and polarity.
    orientation : roughml.imaging.detection.Orientation, optional
        The wall geometry when it is already known (e.g. detected once for the model input as
        well, see :mod:`roughml.serving.pyfunc`); detected from ``gray`` when omitted.

    Raises
    ------
    NoInterfaceError
        When the image holds no usable wall (see :mod:`roughml.imaging.detection`).
    """
    found = detection.detect_orientation(gray) if orientation is None else orientation
    canonical = np.asarray(detection.canonicalize(gray, found))
    h = detection.extract_profile(canonical)
    # A clean binary image has pure quantisation noise; any other image adds extraction errors.
    noise = "quantisation" if detection.is_two_level(canonical) else "free"
    zeta, zeta_std, zeta_sf = estimate_profile(h, noise)
    return ClassicalEstimate(zeta=zeta, zeta_std=zeta_std, zeta_structure_factor=zeta_sf,
                             orientation=found.orientation, bright_side=found.bright_side,
                             length=int(h.size))
