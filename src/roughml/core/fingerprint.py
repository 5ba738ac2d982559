"""Identify exactly which data and code a run used.

Why: a number in MLflow is only worth something if one can tell which dataset and which commit
produced it. DVC already hashes every output (md5 of the file, or of the directory listing); we
record the same hashes so a run can be matched to a ``dvc.lock`` entry.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import yaml


def md5_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """MD5 of a file's bytes, read in ``chunk``-sized pieces so large datasets fit in memory.

    MD5 because it is what DVC 3 records for a file output, not for any security purpose.
    """
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for piece in iter(lambda: handle.read(chunk), b""):
            digest.update(piece)
    return digest.hexdigest()


def dvc_lock_hash(output: str, lock_path: str | Path = "dvc.lock") -> str | None:
    """The md5 that ``dvc.lock`` records for ``output`` (any stage).

    Returns
    -------
    str or None
        None when there is no readable ``dvc.lock`` or no stage lists ``output``: outside a DVC
        pipeline (a test, a manual run) a run is still recorded, just without this tag.
    """
    try:
        lock = yaml.safe_load(Path(lock_path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    for stage in (lock.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            if Path(out.get("path", "")) == Path(output):
                return out.get("md5")
    return None


def dataset_fingerprint(data_dir: str | Path, files: list[str]) -> dict[str, str]:
    """MLflow tags that identify the dataset a run read.

    Parameters
    ----------
    data_dir
        The dataset folder.
    files
        Names of the split files inside it; missing ones are skipped.

    Returns
    -------
    dict of str to str
        ``dataset.md5.<file>`` for each file, ``dataset.fingerprint`` (one md5 over those, so
        two runs can be compared with a single tag), and ``dataset.dvc_md5`` when ``dvc.lock``
        records the folder.
    """
    data_dir = Path(data_dir)
    tags = {f"dataset.md5.{name}": md5_file(data_dir / name) for name in files if (data_dir / name).exists()}
    combined = hashlib.md5("".join(f"{k}={v};" for k, v in sorted(tags.items())).encode()).hexdigest()
    tags["dataset.fingerprint"] = combined
    dvc_hash = dvc_lock_hash(str(data_dir))
    if dvc_hash:
        tags["dataset.dvc_md5"] = dvc_hash
    return tags


def git_commit(cwd: str | Path = ".") -> str:
    """Current commit, with ``-dirty`` when tracked files differ from it.

    ``-dirty`` warns that the recorded commit is not exactly the code that ran; untracked files
    (datasets, models) are ignored. Outside git, or without git installed, returns ``"unknown"``
    rather than failing the run.
    """
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                                check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit
