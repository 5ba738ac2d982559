"""Errors that the CLI reports as one readable line (exit code 2) instead of a traceback."""


class RoughmlError(Exception):
    """A problem the user can fix: bad params, missing model, unreachable server, bad data."""


class ImageReadError(RoughmlError):
    """A file could not be read as an image (corrupt, unsupported, unreadable)."""


class NoInterfaceError(RoughmlError):
    """An image holds no usable interface (uniform, noise only, too small)."""


class TrackingError(RoughmlError):
    """The MLflow tracking server or registry cannot serve the request."""


class DataValidationError(RoughmlError):
    """A generated dataset failed its great-expectations suite."""
