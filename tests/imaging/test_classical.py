"""The classical estimate of an image: the wall's geometry, its length and the Whittle ζ of its profile."""

from __future__ import annotations

import numpy as np
import pytest

from roughml.core.errors import NoInterfaceError
from roughml.imaging.classical import estimate_image
from roughml.imaging.detection import Orientation, detect_orientation
from roughml.physics.rendering import render_binary
from roughml.physics.spectral import whittle
from tests.physics.profiles import quantised


def test_estimate_image_on_binary_image():
    rng = np.random.default_rng(3)
    h = quantised(rng, np.array([0.6]), 256)[0].astype(np.int16)
    img = render_binary(h, 256, "horizontal", "top")
    est = estimate_image(img)
    assert (est.orientation, est.bright_side, est.length) == ("horizontal", "top", 256)
    assert est.zeta == pytest.approx(whittle(h.astype(np.float64))[0])
    assert est.zeta == pytest.approx(0.6, abs=0.25)
    assert np.isfinite(est.zeta_structure_factor) and est.zeta_std > 0


def test_estimate_image_rejects_uniform():
    with pytest.raises(NoInterfaceError):
        estimate_image(np.zeros((64, 64), np.uint8))


def test_estimate_image_reuses_a_known_orientation():
    rng = np.random.default_rng(25)
    h = quantised(rng, np.array([0.8]), 256)[0].astype(np.int16)
    img = render_binary(h, 256, "vertical", "left")
    found = detect_orientation(img)
    assert estimate_image(img, orientation=found) == estimate_image(img)
    # The given geometry is used as is: the wrong polarity finds no wall crossing dark to bright.
    with pytest.raises(NoInterfaceError):
        estimate_image(img, orientation=Orientation("vertical", "right"))
