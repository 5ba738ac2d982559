"""Full frames through the product: one row per wall, stacks page by page, overlay pictures.

The per-wall records are checked on the preparation step (no model needed); the command line is run
for real against a registered tiny model, on a folder holding a 16-bit frame with bubbles, a
multi-page TIFF of a growing bubble and a frame that shows nothing but the instrument's banner.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
import tifffile
from PIL import Image

from roughml.physics import frames as synthetic
from roughml.serving import overlays, preparation
from roughml.serving.rows import CONTOUR_KEY, exit_code, record_row

from tests.test_cli import registry_store, run_cli  # noqa: F401 - fixture


def _unit(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / np.float32(65535.0)


def _banner_only(rng: np.random.Generator) -> np.ndarray:
    image = np.clip(rng.normal(30000, 900, (1066, 1344)), 0, 65535).astype(np.uint16)
    image[-44:, :] = 0
    image[-32:-28, 80:280] = 65535           # scale bar
    image[-20:-10, 400:900:3] = 65535        # text strokes
    return image


@pytest.fixture(scope="module")
def bubble_frame():
    return synthetic.render_frame(np.random.default_rng(21), bubbles=(2, 2), radius_px=(90, 220),
                                  open_walls=(0, 0), allow_cut=False)


def test_a_frame_gives_one_record_per_wall_with_its_place(bubble_frame):
    prepared = preparation.prepare_item("frame.png", _unit(bubble_frame.image), None, classical=True)
    records = [record for record, _ in prepared if record["status"] == "ok"]
    assert [r["wall"] for r in records] == list(range(1, len(records) + 1))
    assert len(records) == len(bubble_frame.walls)
    for truth in bubble_frame.walls:
        nearest = min(records, key=lambda r: np.hypot(r["x"] - truth.x, r["y"] - truth.y))
        assert np.hypot(nearest["x"] - truth.x, nearest["y"] - truth.y) < 10.0
        assert nearest["kind"] == "closed" and nearest["orientation"] == "closed/unwrapped"
        assert nearest["length_px"] > 0.5 * truth.length_px
        assert np.isfinite(nearest["zeta_classical"])
        assert nearest[CONTOUR_KEY] is not None
    for record, image in prepared:
        if record["status"] == "ok":
            assert image.dtype == np.float32 and image.ndim == 2 and image.shape[0] >= 32
            assert 0.0 <= image.min() and image.max() <= 1.0


def test_a_banner_alone_is_never_a_wall():
    (record, image), = preparation.prepare_item("banner.png", _unit(_banner_only(np.random.default_rng(3))),
                                                None, classical=True)
    assert record["status"] == "error" and image is None
    assert "no wall found" in record["message"] and "instrument banner (bottom" in record["message"]


def test_a_single_wall_crop_the_frame_finder_misreads_stays_one_canonical_row():
    """Hot pixels on a bright domain look like drawn graphics to the frame finder; the line-by-line
    detection still sees one wall crossing every line, so the crop keeps the canonical path."""
    from roughml.imaging.frames import find_walls
    from roughml.physics.rendering import LabSample, render_lab
    from roughml.physics.synthesis import quantise, self_affine_profiles

    heights, _ = quantise(self_affine_profiles(np.random.default_rng(14), np.array([0.6]), 200), 14.0, 200)
    lab = LabSample(contrast=0.3, illumination=0.3, blur_sigma=1.0, noise_sigma=0.02, n_islands=6,
                    island_radius=3.0, rotation_deg=2.0, defects=0.0005)
    crop = render_lab(heights[0], 200, "vertical", "right", lab, np.random.default_rng(14))
    assert find_walls(crop.astype(np.float32) / 255).is_frame  # what the finder alone concludes
    items = preparation.prepare_item("crop.png", crop, None, classical=False)
    assert [(r["kind"], r["orientation"], r["status"]) for r, _ in items] == [("open", "vertical/right", "ok")]


def test_a_short_wall_is_a_row_with_its_reason_and_does_not_fail_the_frame(bubble_frame):
    image = _unit(bubble_frame.image).copy()
    # a small domain (about 30 px across) far from the bubbles: too short to measure
    rows, cols = np.mgrid[0:image.shape[0], 0:image.shape[1]]
    truth = bubble_frame.walls[0]
    radius = truth.length_px / (2 * np.pi)
    distance = np.hypot(rows - truth.y, cols - truth.x)
    step = np.median(image[distance < 0.5 * radius]) - np.median(image[(distance > 1.3 * radius) & (distance < 1.6 * radius)])
    far = max(((r, c) for r in (150, 800) for c in (150, 1200)),
              key=lambda p: min(np.hypot(w.y - p[0], w.x - p[1]) for w in bubble_frame.walls))
    disk = np.hypot(rows - far[0], cols - far[1]) < 16
    image[disk] += np.float32(step)  # the domain's own contrast on the local background
    records = [record for record, _ in preparation.prepare_item("f.png", image, None, classical=False)]
    short = [r for r in records if r["status"] == "error"]
    assert short and all(r["message"].startswith("wall too short: ") for r in short)
    assert any(np.hypot(r["x"] - far[1], r["y"] - far[0]) < 10 for r in short)
    assert exit_code([record_row(r) for r in records]) == 0  # the frame itself was measured


def test_predict_measures_frames_stacks_and_draws_overlays(tmp_path, registry_store):  # noqa: F811
    folder = tmp_path / "frames"
    folder.mkdir()
    frame = synthetic.render_frame(np.random.default_rng(22), bubbles=(1, 2), radius_px=(90, 200),
                                   open_walls=(0, 0), allow_cut=False)
    Image.fromarray(frame.image).save(folder / "frame.png")
    sequence = synthetic.growing_bubble(np.random.default_rng(23), 3, radius_px=(90, 160))
    tifffile.imwrite(folder / "growth.tif", np.stack([f.image for f in sequence]), photometric="minisblack")
    Image.fromarray(_banner_only(np.random.default_rng(24))).save(folder / "banner.png")

    proc = run_cli(["predict", str(folder), "--model-alias", "production", "--output", "p.csv",
                    "--overlays", "pictures"], tmp_path, registry_store)
    assert proc.returncode == 1, proc.stderr[-3000:]  # banner.png has no wall
    assert "Traceback" not in proc.stderr
    rows = list(csv.DictReader((tmp_path / "p.csv").open(encoding="utf-8")))
    ok = [r for r in rows if r["status"] == "ok"]
    pages = {f"{folder / 'growth.tif'}[{k}]" for k in range(3)}
    assert {r["path"] for r in ok if r["path"] in pages} == pages  # every page of the stack
    assert all(r["kind"] == "closed" for r in ok if r["path"] in pages)
    frame_rows = [r for r in ok if r["path"] == str(folder / "frame.png")]
    assert len(frame_rows) == len(frame.walls) and all(r["kind"] == "closed" for r in frame_rows)
    banner = [r for r in rows if r["path"] == str(folder / "banner.png")]
    assert len(banner) == 1 and banner[0]["status"] == "error" and "banner" in banner[0]["message"]

    pictures = sorted(p.name for p in (tmp_path / "pictures").glob("*.png"))
    assert pictures == ["banner.png", "frame.png", "growth_page0.png", "growth_page1.png", "growth_page2.png"]
    drawn = np.asarray(Image.open(tmp_path / "pictures" / "frame.png").convert("RGB")).astype(int)
    wall = frame.walls[0].points[::40].round().astype(int)
    green = [(drawn[r - 2:r + 3, c - 2:c + 3] == overlays.MEASURED[:3]).all(axis=-1).any() for r, c in wall]
    assert np.mean(green) > 0.8  # the measured wall is drawn where it is
    shaded = drawn[-20, 600]
    assert shaded[0] > shaded[1] + 30  # the banner is shaded red: ignored


def test_estimate_draws_overlays_of_the_classical_walls(tmp_path):
    frame = synthetic.render_frame(np.random.default_rng(25), bubbles=(1, 1), radius_px=(120, 160),
                                   open_walls=(0, 0), allow_cut=False)
    Image.fromarray(frame.image).save(tmp_path / "frame.png")
    proc = run_cli(["estimate", str(tmp_path / "frame.png"), "--output", "r.csv", "--overlays", "pictures"],
                   tmp_path, "sqlite:///unused.db")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [r for r in csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8")) if r["status"] == "ok"]
    assert [r["kind"] for r in rows] == ["closed"] and rows[0]["zeta"] == rows[0]["zeta_classical"]
    assert [p.name for p in (tmp_path / "pictures").glob("*.png")] == ["frame.png"]
