"""Errors that the CLI reports as one readable line (exit code 2) instead of a traceback.

Why a hierarchy: the CLI catches ``RoughmlError`` alone, so a problem the user can fix prints one
line, while a bug (any other exception) still shows its traceback.
"""

from __future__ import annotations

from pathlib import Path


class RoughmlError(Exception):
    """A problem the user can fix: bad params, missing model, unreachable server, bad data."""


class ParamsError(RoughmlError):
    """``params.yaml`` is missing, unreadable or holds an invalid value.

    Parameters
    ----------
    message
        What is wrong, naming the key path (``'train.epochs' must be >= 1, got 0``).
    source
        The file named in front of the message. The checkers only see mappings and leave the
        default; whoever read another file (the CLI's ``--params``) sets this attribute, so that
        the user is pointed at the file they actually gave.
    """

    def __init__(self, message: str, source: str | Path = "params.yaml"):
        super().__init__(message)
        self.message = message
        self.source = str(source)

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


class ImageReadError(RoughmlError):
    """A file could not be read as an image (corrupt, unsupported, unreadable)."""


class NoInterfaceError(RoughmlError):
    """An image holds no usable interface (uniform, noise only, too small)."""


class TrackingError(RoughmlError):
    """The MLflow tracking server or registry cannot serve the request."""


class DataValidationError(RoughmlError):
    """A generated dataset failed its great-expectations suite."""
