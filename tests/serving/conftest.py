"""A folder that mixes good images, a two-page TIFF and bad files, shared by the folder tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from roughml.physics import rendering as render
from roughml.physics import synthesis as synth


def _wall(seed: int, orientation: str = "vertical", bright: str = "right", size: int = 96) -> np.ndarray:
    rng = np.random.default_rng(seed)
    heights, _ = synth.quantise(synth.self_affine_profiles(rng, 0.6, size), 0.06 * size, size)
    return render.render_binary(heights[0], size, orientation, bright)


@pytest.fixture()
def mixed_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in put"
    folder.mkdir()
    Image.fromarray(_wall(1)).save(folder / "good one.png")
    Image.fromarray(_wall(2, "horizontal", "top")).save(folder / "ünïcödé.png")
    with tifffile.TiffWriter(folder / "stack.tif") as tif:
        tif.write(_wall(3))
        tif.write(_wall(4, "vertical", "left"))
    (folder / "notes.txt").write_text("not an image")
    (folder / "empty.png").write_bytes(b"")
    good = (folder / "good one.png").read_bytes()
    (folder / "truncated.png").write_bytes(good[: len(good) // 3])
    Image.fromarray(np.full((64, 64), 128, np.uint8)).save(folder / "uniform.png")
    (folder / ".hidden.png").write_bytes(good)
    (folder / "sub").mkdir()
    Image.fromarray(_wall(5)).save(folder / "sub" / "deep.png")
    return folder


def register_tiny_model(root: Path, experiment: str) -> None:
    """A tiny untrained roughml regressor, logged from ``root`` and promoted (alias production) in
    the active tracking store: what the serving tests serve."""
    import mlflow

    from roughml.learning.model import build_model
    from roughml.serving import pyfunc, registry, tracking

    keras_file = root / "model.keras"
    build_model("regressor", stem_filters=2, tower_filters=4, tower_levels=3).save(keras_file)
    tracking.configure()
    with mlflow.start_run(experiment_id=tracking.ensure_experiment(experiment)) as run:
        info = pyfunc.log_model(keras_file)
    assert registry.register_and_promote(run.info.run_id, "roughml", info.model_uri, 0.2).promoted
