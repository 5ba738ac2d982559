"""Metamorphic tests: transformations of an image that keep the wall must not change its ζ.

Why these hold for *any* weights: the served model sees the wall through one canonical frame
(orientation and polarity detected, contrast stretched, the band around the wall cropped) and reads
it from both ends, so a transposed, flipped, inverted or grey-rescaled image reaches the network as
the same array. A random, untrained network is therefore a sharp test of that canonicalisation:
any difference is the pipeline's, not the training's. The tolerance is derived from the model's
own σ (a few hundredths of it), so an accidental change of frame — which moves ζ by O(σ) for a
random network — fails. Invariances that rely on what the network learned (length, up-sampling)
are measured on the trained model by benchmarks/bench_length.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from roughml.physics.rendering import LabSample, render_binary, render_lab
from roughml.physics.synthesis import quantise, self_affine_profiles
from roughml.serving import pyfunc

LAB = LabSample(contrast=0.5, illumination=0.2, blur_sigma=1.2, noise_sigma=0.04, n_islands=2,
                island_radius=1.5, rotation_deg=0.0)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The real serving path around a random two-way-reading network (the saved form of a model)."""
    import keras

    from roughml.learning.model import build_model, read_both_ways

    keras.utils.set_random_seed(5)
    path = tmp_path_factory.mktemp("invariance") / "model.keras"
    read_both_ways(build_model("regressor", stem_filters=4, tower_filters=6, tower_levels=4)).save(path)
    model = pyfunc.RoughnessPyfunc(classical=False)
    model.load_keras(path)
    return model


def _walls() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(12)
    heights, _ = quantise(self_affine_profiles(rng, [0.4, 0.9], 160), [7.0, 9.0], 96)
    return {"binary": render_binary(heights[0], 96),
            "lab": render_lab(heights[1], 96, "vertical", "right", LAB, np.random.default_rng(3))}


def _as_float(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / 255.0


TRANSFORMS = {
    "transpose": lambda img: img.T,
    "flip along the wall": lambda img: img[::-1, :],
    "flip across the wall": lambda img: img[:, ::-1],
    "rotate 180": lambda img: img[::-1, ::-1],
    "grey levels 0.3 x + 0.5": lambda img: 0.3 * _as_float(img) + 0.5,
    "16-bit": lambda img: img.astype(np.uint16) * 257,
    "crop columns that keep the wall": lambda img: img[:, 8:-8],
}


@pytest.mark.parametrize("kind", ["binary", "lab"])
@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_zeta_is_unchanged_by(served, kind, name):
    image = _walls()[kind]
    frame = served.predict_arrays([image, TRANSFORMS[name](image)], labels=["original", name])
    assert list(frame["status"]) == ["ok", "ok"], frame["message"].tolist()
    zeta, sigma = frame["zeta"].to_numpy(), frame["zeta_std"].to_numpy()
    tolerance = 0.02 * float(sigma.min())
    assert abs(zeta[1] - zeta[0]) <= tolerance, (name, zeta, sigma)


@pytest.mark.parametrize("kind", ["binary", "lab"])
def test_polarity_inversion_moves_zeta_by_a_small_fraction_of_sigma(served, kind):
    """Inverting the polarity mirrors the canonical wall (h -> W - h) and, in a grey image, its noise
    field: the same wall, but not the same array, so the invariance is statistical. The tower's
    features are even in h (variances of linear filters), so only the stem's asymmetry is left."""
    image = _walls()[kind]
    frame = served.predict_arrays([image, 255 - image])
    zeta, sigma = frame["zeta"].to_numpy(), frame["zeta_std"].to_numpy()
    assert abs(zeta[1] - zeta[0]) <= 0.1 * float(sigma.min()), (zeta, sigma)


def test_the_tolerance_would_catch_a_change_of_frame(served):
    """Guard: the same wall seen through a *wrong* frame (rows shifted along the wall, i.e. another
    part of it) moves ζ by much more than the tolerance, so the tests above are not vacuous."""
    image = _walls()["lab"]
    other = np.roll(image, 40, axis=0)
    frame = served.predict_arrays([image, other])
    zeta, sigma = frame["zeta"].to_numpy(), frame["zeta_std"].to_numpy()
    assert abs(zeta[1] - zeta[0]) > 0.02 * float(sigma.min())
