"""Reading every supported format, every failure mode, and huge images with bounded memory."""

from __future__ import annotations

import os
import tracemalloc

import numpy as np
import pytest
import tifffile
from PIL import Image

from roughml.core.errors import ImageReadError
from roughml.imaging.reader import IMAGE_SUFFIXES, read_pages

RNG = np.random.default_rng(0)
GRAY8 = RNG.integers(0, 256, (40, 56), dtype=np.uint8)
GRAY16 = RNG.integers(0, 65536, (40, 56), dtype=np.uint16)
RGB = RNG.integers(0, 256, (40, 56, 3), dtype=np.uint8)
LUMA = (RGB.astype(np.float64) @ np.array([0.299, 0.587, 0.114])) / 255.0


def _one(path, **kw):
    pages = read_pages(path, **kw)
    assert len(pages) == 1
    page = pages[0]
    assert page.dtype == np.float32 and page.ndim == 2
    assert 0.0 <= page.min() and page.max() <= 1.0
    return page


def test_suffixes_cover_the_main_formats():
    assert {".png", ".jpg", ".tif", ".tiff", ".bmp"} <= set(IMAGE_SUFFIXES)


def test_tiff_8_and_16_bit_scaled_by_dtype_range(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", GRAY8)
    tifffile.imwrite(tmp_path / "b.tif", GRAY16, compression="zlib")
    np.testing.assert_allclose(_one(tmp_path / "a.tif"), GRAY8 / 255.0, atol=1e-6)
    np.testing.assert_allclose(_one(tmp_path / "b.tif"), GRAY16 / 65535.0, atol=1e-6)


def test_multipage_tiff_first_or_all(tmp_path):
    path = tmp_path / "stack.tif"
    with tifffile.TiffWriter(path) as tif:
        for k in range(3):
            tif.write((GRAY8 // (k + 1)).astype(np.uint8))
    assert len(read_pages(path)) == 1
    pages = read_pages(path, all_pages=True)
    assert len(pages) == 3
    np.testing.assert_allclose(pages[2], (GRAY8 // 3) / 255.0, atol=1e-6)


def test_rgb_tiff_contig_and_planar_give_luma(tmp_path):
    tifffile.imwrite(tmp_path / "c.tif", RGB, photometric="rgb")
    tifffile.imwrite(tmp_path / "p.tif", np.moveaxis(RGB, -1, 0), photometric="rgb",
                     planarconfig="separate")
    np.testing.assert_allclose(_one(tmp_path / "c.tif"), LUMA, atol=1e-5)
    np.testing.assert_allclose(_one(tmp_path / "p.tif"), LUMA, atol=1e-5)


def test_png_gray_rgb_rgba_16bit_and_bmp(tmp_path):
    Image.fromarray(GRAY8).save(tmp_path / "g.png")
    Image.fromarray(RGB).save(tmp_path / "c.png")
    rgba = np.dstack([RGB, np.full(RGB.shape[:2], 7, np.uint8)])  # nearly transparent: ignored
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    Image.fromarray(GRAY16).save(tmp_path / "w.png")
    Image.fromarray(RGB).save(tmp_path / "c.bmp")
    np.testing.assert_allclose(_one(tmp_path / "g.png"), GRAY8 / 255.0, atol=1e-6)
    np.testing.assert_allclose(_one(tmp_path / "c.png"), LUMA, atol=2.5 / 255)
    np.testing.assert_allclose(_one(tmp_path / "a.png"), LUMA, atol=2.5 / 255)
    np.testing.assert_allclose(_one(tmp_path / "w.png"), GRAY16 / 65535.0, atol=1e-6)
    np.testing.assert_allclose(_one(tmp_path / "c.bmp"), LUMA, atol=2.5 / 255)


def test_jpeg_is_read_approximately(tmp_path):
    smooth = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (48, 1))
    Image.fromarray(smooth).save(tmp_path / "s.jpg", quality=95)
    page = _one(tmp_path / "s.jpg")
    assert page.shape == (48, 64)
    assert np.abs(page - smooth / 255.0).mean() < 0.02


def test_large_image_is_block_averaged(tmp_path):
    img = np.zeros((300, 90), np.uint8)
    img[:, 45:] = 255
    Image.fromarray(img).save(tmp_path / "big.png")
    tifffile.imwrite(tmp_path / "big.tif", img)
    for name in ("big.png", "big.tif"):
        page = _one(tmp_path / name, max_side=100)
        assert max(page.shape) <= 100 and page.shape == (100, 30)
        assert page[:, :15].max() == 0.0 and page[:, 15:].min() == 1.0


def test_huge_tiff_read_with_bounded_memory(tmp_path):
    path = tmp_path / "huge.tif"
    side = 12000
    mm = tifffile.memmap(path, shape=(side, side), dtype=np.uint8)
    ramp = (np.arange(side) % 256).astype(np.uint8)
    for start in range(0, side, 2000):
        mm[start:start + 2000] = ramp[None, :]
    mm.flush()
    del mm
    tracemalloc.start()
    try:
        page = _one(path, max_side=2048)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert page.shape == (2000, 2000)  # factor 6
    expected = ramp[:6].astype(np.float64).mean() / 255.0
    assert page[0, 0] == pytest.approx(expected, abs=1e-5)
    # The full image as float32 would be 576 MB; the reader must stay far below.
    assert peak < 120 * 2**20, f"peak traced memory {peak / 2**20:.0f} MB"


@pytest.mark.parametrize("case, reason", [
    ("missing", "not found"), ("directory", "directory"), ("empty", "empty"),
    ("text", "not an image"), ("corrupt_png", "corrupt"), ("truncated_png", "corrupt"),
    ("corrupt_tiff", "corrupt"),
])
def test_bad_files_raise_image_read_error(tmp_path, case, reason):
    path = tmp_path / f"{case}.png"
    if case == "directory":
        path.mkdir()
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("just some notes\n")
    elif case in ("corrupt_png", "truncated_png"):
        Image.fromarray(GRAY8).save(path)
        data = path.read_bytes()
        data = data[:60] + b"\x00" * 40 + data[100:] if case == "corrupt_png" else data[: len(data) // 2]
        path.write_bytes(data)
    elif case == "corrupt_tiff":
        path = tmp_path / "bad.tif"
        path.write_bytes(b"II*\x00" + b"\xff" * 30)
    with pytest.raises(ImageReadError, match=reason):
        read_pages(path)


def test_permission_denied(tmp_path):
    path = tmp_path / "locked.png"
    Image.fromarray(GRAY8).save(path)
    os.chmod(path, 0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: chmod does not prevent reading")
        with pytest.raises(ImageReadError, match="permission denied"):
            read_pages(path)
    finally:
        os.chmod(path, 0o644)
