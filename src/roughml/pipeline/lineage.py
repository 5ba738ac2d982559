"""Which data and which model a run's numbers belong to, in MLflow's own terms.

Why: ``mlflow ui`` lists a run's datasets in its Datasets panel and links metrics to the dataset
and the logged model they were computed on, so a reader can tell which data a number came from
without opening DVC. DVC knows the split files by path and md5: those become the dataset's source
and digest, so the two tools name the same bytes the same way.
"""

from __future__ import annotations

from pathlib import Path

from roughml.core.fingerprint import md5_file

__all__ = ["SPLIT_CONTEXTS", "log_splits", "split_dataset"]

#: MLflow's input context of each split.
SPLIT_CONTEXTS = {"train": "training", "validation": "validation", "test": "testing"}


def split_dataset(data_dir: str | Path, split: str):
    """An MLflow dataset for ``data_dir/<split>.npz``: named after the split, md5 as its digest."""
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.data.sources import LocalArtifactDatasetSource

    path = Path(data_dir) / f"{split}.npz"
    return MetaDataset(source=LocalArtifactDatasetSource(path.as_posix()), name=f"roughml-{split}",
                       digest=md5_file(path))


def log_splits(data_dir: str | Path, splits: tuple[str, ...]) -> dict:
    """Log each split as an input of the active run, with its context; return split -> dataset."""
    import mlflow

    datasets = {split: split_dataset(data_dir, split) for split in splits}
    for split, dataset in datasets.items():
        mlflow.log_input(dataset, context=SPLIT_CONTEXTS[split])
    return datasets
