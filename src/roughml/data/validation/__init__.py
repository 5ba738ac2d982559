"""Great-expectations validation of the generated datasets (DVC stage ``validate``).

Why: a model trained on a subtly broken dataset (ζ outside its range, walls clipped at the image
edge, a profile shared between train and test, renders that disagree with the stored heights) looks
fine in its loss curve and fails silently later. This stage states the dataset contract as
great-expectations suites, checks it on every sample's metadata and on a rendered sample of images,
publishes the results as static data docs (a DVC output) and stops the pipeline with one readable
line per broken rule.

Layout of the checks (each is a pandas frame validated by one suite):

- ``samples_<split>``: one row per sample of a split (:func:`dataset_frame`): ranges, sizes,
  hashes, padding, geometry and family keys, uniqueness inside the split.
- ``images_clean`` / ``images_lab``: the rendered rows of every split: pixel values, shape, dtype,
  and (clean rows) the exact match of image and stored heights.
- ``counts``: one row per (split, family): observed against configured sample counts.
- ``zeta_coverage``: one row per (split, family, ζ bin): every bin holds its minimum count.
- ``all_splits``: the concatenated splits: no nulls, no profile shared across splits.

Modules: :mod:`.frames` builds the frames, :mod:`.suites` states the rules, :mod:`.context` runs
great-expectations quietly in memory, :mod:`.outcomes` turns results into readable lines, and
:mod:`.stage` ties them together in :func:`validate_datasets`.

Nothing is written outside ``out_json`` and ``docs_dir``: the great-expectations context is
ephemeral (in-memory stores) with a single filesystem data-docs site pointed at ``docs_dir``.
"""

from roughml.data.validation.frames import coverage_frame, counts_frame, dataset_frame, zeta_bin_edges
from roughml.data.validation.outcomes import ExpectationOutcome
from roughml.data.validation.stage import ValidationReport, load_datasets, validate_datasets

__all__ = ["ExpectationOutcome", "ValidationReport", "counts_frame", "coverage_frame", "dataset_frame",
           "load_datasets", "validate_datasets", "zeta_bin_edges"]
