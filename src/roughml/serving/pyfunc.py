"""The MLflow pyfunc that serves roughml: image files in, one result row per image out.

Why a pyfunc around the Keras model: a ``.keras`` file alone expects canonical arrays (wall top to
bottom, dark domain left, values in [0, 1]); users and ``mlflow models serve`` have image *files*.
The pyfunc carries the whole chain (decode, canonicalise with ``roughml.imaging.canonical.prepare``,
classical Whittle estimate for comparison, batched inference) so that every consumer — the
``roughml predict`` CLI, a REST endpoint, a Spark UDF — gets the same numbers; the per-image part
is :func:`roughml.serving.predict.prepare_item`, which ``roughml predict`` runs in worker processes. Bad images become
rows with ``status='error'`` and a reason instead of failing the whole batch. The roughml package
is logged with the model (``code_paths``) so the model loads in any environment with the pinned
requirements, even where roughml is not installed.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import importlib.metadata
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import mlflow.pyfunc
import numpy as np
import pandas as pd

from roughml.core.errors import RoughmlError

#: Name of the Keras file among the pyfunc's artifacts.
KERAS_ARTIFACT = "keras_model"
#: Output columns, in order (same as ``roughml.serving.rows.COLUMNS``).
COLUMNS = ("path", "zeta", "zeta_std", "zeta_classical", "orientation", "width", "height", "status", "message")
#: Images of one shape are fed to the network in chunks of this many.
DEFAULT_BATCH_SIZE = 64
#: ... and of at most this many pixels, so that the activations of one forward pass stay within
#: a few hundred MB (the stem holds ~20 floats per pixel) whatever the image size.
MAX_BATCH_PIXELS = 1 << 22

_REQUIREMENTS = ("mlflow", "keras", "numpy", "pandas", "scipy", "scikit-image", "pillow", "tifffile", "pyyaml")

# An item to predict: (label, decoded 2-D array or None, error message or None).
Item = tuple[str, "np.ndarray | None", "str | None"]


# --- decoding ----------------------------------------------------------------------------------

def _suffix_for(data: bytes) -> str:
    """File suffix matching the magic bytes, so the reader picks the right decoder."""
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return ".tif"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return ".png"
    if data[:3] == b"\xff\xd8\xff":
        return ".jpg"
    if data[:2] == b"BM":
        return ".bmp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return ".gif"
    return ".img"


def as_bytes(value: Any) -> bytes:
    """Bytes of an encoded image given as bytes, bytearray, memoryview or a base64 string.

    Base64 is what ``mlflow models serve`` JSON carries for binary columns.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("data:") and "," in text:  # data URI: data:image/png;base64,....
            text = text.split(",", 1)[1]
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise RoughmlError("image column holds a string that is not valid base64") from None
    raise RoughmlError(f"image column holds {type(value).__name__}, expected bytes or a base64 string")


def read_image_bytes(data: bytes, all_pages: bool = False) -> list[np.ndarray]:
    """Decode an encoded image held in memory with the same reader as files (``roughml.imaging.reader``).

    A temporary file keeps one decoding path for files and bytes (same grey conversion, same
    down-sampling of huge images).
    """
    from roughml.imaging.reader import read_pages

    fd, name = tempfile.mkstemp(prefix="roughml-", suffix=_suffix_for(data))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return read_pages(name, all_pages=all_pages)
    finally:
        os.unlink(name)


def _items_from_frame(frame: pd.DataFrame) -> list[Item]:
    """Decode a DataFrame with a ``path`` or ``image`` column; failures become error items."""
    from roughml.imaging.reader import read_pages

    items: list[Item] = []
    if "path" in frame.columns and frame["path"].notna().any():
        for value in frame["path"].tolist():
            label = "" if value is None else str(value)
            try:
                pages = read_pages(label)
                items.append((label, pages[0], None))
            except RoughmlError as exc:
                items.append((label, None, str(exc)))
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
                items.append((label, None, f"cannot read image: {exc}"))
        return items
    if "image" in frame.columns:
        for index, value in enumerate(frame["image"].tolist()):
            label = f"image[{index}]"
            try:
                pages = read_image_bytes(as_bytes(value))
                items.append((label, pages[0], None))
            except RoughmlError as exc:
                items.append((label, None, str(exc)))
            except Exception as exc:  # noqa: BLE001
                items.append((label, None, f"cannot read image: {exc}"))
        return items
    raise RoughmlError("model input needs a column 'path' (image file paths) or 'image' "
                       f"(encoded image bytes or base64); got columns {list(frame.columns)}")


# --- inference ---------------------------------------------------------------------------------

class RoughnessPyfunc(mlflow.pyfunc.PythonModel):
    """Pyfunc wrapper: decoding + canonicalisation + batched Keras inference + classical ζ.

    ``predict`` takes a DataFrame with a ``path`` column (image files) or an ``image`` column
    (encoded bytes or base64 strings) and returns a DataFrame with :data:`COLUMNS`. Errors in one
    image give that row ``status='error'`` and a ``message``; ``predict`` itself raises only for a
    malformed input frame.
    """

    def __init__(self, batch_size: int = DEFAULT_BATCH_SIZE, classical: bool = True) -> None:
        self.batch_size = int(batch_size)
        self.classical = bool(classical)
        self._model = None
        self._kind = "regressor"
        self._fn = None

    # MLflow calls this once after unpickling, with the artifact paths of the logged model.
    def load_context(self, context) -> None:
        self.load_keras(context.artifacts[KERAS_ARTIFACT])

    def load_keras(self, path: str | os.PathLike) -> None:
        """Load the ``.keras`` file (custom layers of roughml.learning.model registered first)."""
        import_keras()
        from roughml.learning import model as rmodel
        self._model = rmodel.load(str(path))
        self._kind = rmodel.model_kind(self._model)
        self._fn = _shape_agnostic_call(self._model)

    def __getstate__(self) -> dict[str, Any]:
        # The Keras model is an artifact, not part of the pickle.
        return {"batch_size": self.batch_size, "classical": self.classical}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)

    # --- public prediction paths ---------------------------------------------------------------

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return self.frame(self.predict_items(_items_from_frame(frame)))

    def predict_arrays(self, images: Sequence[np.ndarray], labels: Sequence[str] | None = None) -> pd.DataFrame:
        """Predict already decoded 2-D grayscale arrays (any size, any orientation)."""
        labels = list(labels) if labels is not None else [f"array[{i}]" for i in range(len(images))]
        if len(labels) != len(images):
            raise ValueError(f"{len(labels)} labels for {len(images)} images")
        return self.frame(self.predict_items([(lab, img, None) for lab, img in zip(labels, images)]))

    @staticmethod
    def frame(records: list[dict[str, Any]]) -> pd.DataFrame:
        """Records as a DataFrame with exactly :data:`COLUMNS` and stable dtypes."""
        df = pd.DataFrame.from_records(records, columns=list(COLUMNS))
        for col in ("zeta", "zeta_std", "zeta_classical"):
            df[col] = df[col].astype(np.float64)
        for col in ("width", "height"):
            df[col] = df[col].astype("Int64")
        return df

    def predict_items(self, items: Iterable[Item]) -> list[dict[str, Any]]:
        """One record per item, in input order; images of one shape share forward passes."""
        from roughml.serving.predict import prepare_item

        if self._model is None:
            raise RoughmlError("the roughml pyfunc has no Keras model loaded")
        return self.infer_prepared([prepare_item(label, gray, error, self.classical)
                                    for label, gray, error in items])

    def infer_prepared(self, prepared: Sequence[tuple[dict[str, Any], np.ndarray | None]]) -> list[dict[str, Any]]:
        """Fill ``zeta`` and ``zeta_std`` of records prepared by :func:`roughml.serving.predict.prepare_item`.

        Images of one shape are stacked into forward passes of at most ``batch_size`` images and
        :data:`MAX_BATCH_PIXELS` pixels; records keep their order. A failing forward pass turns
        only its own images into error rows.
        """
        if self._model is None:
            raise RoughmlError("the roughml pyfunc has no Keras model loaded")
        records = [record for record, _ in prepared]
        groups: dict[tuple[int, int], list[int]] = {}
        for index, (_, image) in enumerate(prepared):
            if image is not None:
                groups.setdefault(image.shape, []).append(index)
        for shape, members in groups.items():
            per_pass = max(1, min(self.batch_size, MAX_BATCH_PIXELS // max(1, shape[0] * shape[1])))
            for start in range(0, len(members), per_pass):
                chunk = members[start:start + per_pass]
                batch = np.stack([prepared[i][1] for i in chunk]).astype(np.float32, copy=False)[..., None]
                try:
                    zeta, zeta_std = self._infer(batch)
                except Exception as exc:  # noqa: BLE001 - e.g. out of memory on one huge shape
                    for index in chunk:
                        records[index].update(status="error", message=f"inference failed: {exc}")
                    continue
                for index, z, sd in zip(chunk, zeta, zeta_std):
                    records[index]["zeta"] = float(z)
                    records[index]["zeta_std"] = float(sd)
        return records

    def _infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from keras import ops

        from roughml.learning import model as rmodel
        outputs = self._fn(batch)
        mu, sigma = rmodel.decode(self._kind, ops.convert_to_tensor(outputs))
        return (np.asarray(ops.convert_to_numpy(mu), dtype=np.float64).reshape(-1),
                np.asarray(ops.convert_to_numpy(sigma), dtype=np.float64).reshape(-1))


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration (Python exceptions still propagate).

    TensorFlow writes its start-up notices (the oneDNN banner, absl's "log messages before
    InitializeLog" warning) from C++ straight to fd 2, ignoring ``TF_CPP_MIN_LOG_LEVEL``.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (embedded interpreters): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_keras() -> None:
    """Import Keras (and TensorFlow) for inference, with oneDNN kernels and a quiet start.

    Why: TensorFlow enables its oneDNN kernels by default only on some Intel CPUs; elsewhere
    (e.g. AMD EPYC) the roughml stem convolution, with a single input channel, runs ~15x slower
    without them, and it dominates the cost of a forward pass. ``TF_ENABLE_ONEDNN_OPTS`` is read
    once, at import: a value set by the user wins, and nothing changes when TensorFlow is already
    imported. oneDNN sums in a different order: results differ from the default kernels by
    float32 rounding (~1e-6).
    """
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        return
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _native_stderr_silenced():
        import keras  # noqa: F401  (imports the backend, TensorFlow)


def _shape_agnostic_call(model):
    """A forward pass traced once for every image size (TensorFlow backend), else plain calls.

    ``model.predict`` retraces for each new input shape (seconds per size); microscope folders
    hold many sizes, so a single graph with unknown batch, length and width is traced instead.
    """
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        spec = tf.TensorSpec(shape=(None, None, None, 1), dtype=tf.float32)

        @tf.function(input_signature=[spec], reduce_retracing=True)
        def forward(x):
            return model(x, training=False)

        return lambda batch: forward(tf.convert_to_tensor(batch)).numpy()
    return lambda batch: keras.ops.convert_to_numpy(model(batch, training=False))


# --- logging -----------------------------------------------------------------------------------

def _pip_requirements() -> list[str]:
    """Pinned requirements of the serving environment (explicit: skips MLflow's slow inference)."""
    reqs = []
    for dist in ("tensorflow-cpu", "tensorflow"):
        try:
            reqs.append(f"{dist}=={importlib.metadata.version(dist)}")
            break
        except importlib.metadata.PackageNotFoundError:
            continue
    for dist in _REQUIREMENTS:
        try:
            reqs.append(f"{dist}=={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            reqs.append(dist)
    return reqs


def signature():
    """Input: optional ``path`` (string) or ``image`` (binary) column; output: the result columns."""
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import ColSpec, Schema

    inputs = Schema([ColSpec("string", "path", required=False), ColSpec("binary", "image", required=False)])
    outputs = Schema([ColSpec("string", "path"), ColSpec("double", "zeta"), ColSpec("double", "zeta_std"),
                      ColSpec("double", "zeta_classical"), ColSpec("string", "orientation"),
                      ColSpec("long", "width", required=False), ColSpec("long", "height", required=False),
                      ColSpec("string", "status"), ColSpec("string", "message")])
    return ModelSignature(inputs=inputs, outputs=outputs)


def _package_copy(workdir: Path) -> Path:
    """A clean copy of the installed roughml package (no caches) to ship with the model."""
    source = Path(importlib.import_module("roughml").__file__).resolve().parent
    target = workdir / "roughml"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    return target


def log_model(keras_path: str | os.PathLike, name: str = "model", input_example: Any = None, *,
              batch_size: int = DEFAULT_BATCH_SIZE, registered_model_name: str | None = None):
    """Log the ``.keras`` file as a roughml pyfunc in the active run (or a new one) and return its info.

    Returns
    -------
    mlflow.models.model.ModelInfo
        ``model_info.model_uri`` (``models:/m-...``) can be passed to
        :func:`roughml.serving.registry.register_and_promote`.
    """
    keras_path = Path(keras_path)
    if not keras_path.is_file():
        raise RoughmlError(f"Keras model file not found: {keras_path}")
    with tempfile.TemporaryDirectory(prefix="roughml-code-") as tmp:
        code = _package_copy(Path(tmp))
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=RoughnessPyfunc(batch_size=batch_size),
            artifacts={KERAS_ARTIFACT: str(keras_path)},
            code_paths=[str(code)],
            signature=signature(),
            input_example=input_example,
            pip_requirements=_pip_requirements(),
            registered_model_name=registered_model_name,
        )


def unwrap(pyfunc_model) -> RoughnessPyfunc:
    """The RoughnessPyfunc inside a loaded ``mlflow.pyfunc.PyFuncModel`` (for direct array calls)."""
    inner = pyfunc_model.unwrap_python_model()
    if not isinstance(inner, RoughnessPyfunc) and type(inner).__name__ != "RoughnessPyfunc":
        raise RoughmlError(f"model is a {type(inner).__name__}, not a roughml model")
    return inner
