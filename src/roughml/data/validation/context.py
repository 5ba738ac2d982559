"""The great-expectations runtime of the validate stage: quiet import, in-memory context, docs folder.

Why its own module: great-expectations is slow to import, chatty, and by default keeps a project
folder and sends usage statistics. Here it is imported only when a suite is built, silenced while
it runs, keeps every store in memory, and writes nothing but the static data-docs site, which is
built in a temporary folder and moved into place whole.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Iterator

# Great-expectations reads this when it is imported: no usage statistics leave the machine.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

#: Name of the one data-docs site of the context.
SITE_NAME = "roughml_site"


def gx_modules():
    """``(great_expectations, great_expectations.expectations)``, imported on first use only."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx, gxe


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence great-expectations' log records and warnings while it runs."""
    loggers = [logging.getLogger(name) for name in ("great_expectations", "tzlocal", "py.warnings")]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def ephemeral_context(docs_dir: Path):
    """An in-memory context whose only data-docs site writes static HTML into ``docs_dir``."""
    gx, _ = gx_modules()
    from great_expectations.data_context.types.base import (DataContextConfig, InMemoryStoreBackendDefaults,
                                                            ProgressBarsConfig)

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites={SITE_NAME: {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }},
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def _umask() -> int:
    """The process umask (reading it means setting it, so it is set back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def replace_dir(built: Path, target: Path) -> None:
    """Move a finished docs folder into place, so an interrupted run never leaves a half site."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.replace(target, old / "site")
    built.chmod(0o777 & ~_umask())  # mkdtemp makes 0700 folders; the site should be readable like any output
    os.replace(built, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
