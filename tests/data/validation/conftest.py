"""A tiny real dataset for the validation tests: generated once, copied for tests that corrupt it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from roughml.data.datasets import write_splits
from tests.data.validation.params import GP


@pytest.fixture(scope="package")
def generated(tmp_path_factory) -> Path:
    """The tiny dataset, generated once for all validation tests by the real generator."""
    out = tmp_path_factory.mktemp("generated")
    write_splits(GP, out)
    return out


@pytest.fixture()
def data_dir(generated: Path, tmp_path: Path) -> Path:
    """A private copy of the dataset that a test may corrupt."""
    target = tmp_path / "data"
    shutil.copytree(generated, target)
    return target
