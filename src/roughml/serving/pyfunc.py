"""The MLflow pyfunc that serves roughml: image files in, one result row per image out.

Why a pyfunc around the Keras model: a ``.keras`` file alone expects canonical arrays (wall top to
bottom, dark domain left, values in [0, 1]); users and ``mlflow models serve`` have image *files*.
The pyfunc carries the whole chain (decode with :mod:`roughml.serving.inputs`, the per-image work
of :mod:`roughml.serving.preparation` — canonicalisation and the classical Whittle estimate for
comparison — and batched inference) so that every consumer — the ``roughml predict`` CLI, a REST
endpoint, a Spark UDF — gets the same numbers. Bad images become rows with ``status='error'`` and
a reason instead of failing the whole batch. The layers of the roughml package that serving needs
are logged with the model (``code_paths``) so the model loads in any environment with the pinned
requirements, even where roughml is not installed.

The model is logged *from code* (:mod:`roughml.serving.model_code`, MLflow 3's recommended form):
no pickled Python object, the batch size in the model's ``model_config``, and the inference
options in the signature's params (:data:`PARAMS`), which callers set per request, e.g.
``{"dataframe_records": [...], "params": {"classical": false}}`` over REST.
"""

from __future__ import annotations

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
from roughml.serving import batching
from roughml.serving.inputs import Item, bytes_item, read_items
from roughml.serving.preparation import Prepared, prepare_item
from roughml.serving.rows import COLUMNS
from roughml.serving.warnings import model_warning

#: Name of the Keras file among the pyfunc's artifacts.
KERAS_ARTIFACT = "keras_model"
#: The models-from-code file MLflow logs and executes (it calls ``mlflow.models.set_model``).
MODEL_CODE = Path(__file__).with_name("model_code.py")
#: Inference options of the logged model (the signature's params) and their defaults (the
#: batch size's is the one the model is logged with).
PARAMS = {"classical": True, "batch_size": batching.DEFAULT_BATCH_SIZE}
#: Parts of the roughml package logged with the model: what loading and predicting import (the
#: serving layer and the layers below it). The pipeline, the data sets and the CLI stay out, so
#: that editing them does not change the logged model.
SHIPPED_PARTS = ("__init__.py", "core", "physics", "imaging", "learning", "serving")

_REQUIREMENTS = ("mlflow", "keras", "numpy", "pandas", "scipy", "scikit-image", "pillow", "tifffile", "pyyaml")


def _items_from_frame(frame: pd.DataFrame) -> list[Item]:
    """Decode a DataFrame with a ``path`` or ``image`` column; failures become error items."""
    if "path" in frame.columns and frame["path"].notna().any():
        return [read_items("" if value is None else str(value))[0] for value in frame["path"].tolist()]
    if "image" in frame.columns:
        return [bytes_item(f"image[{index}]", value) for index, value in enumerate(frame["image"].tolist())]
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

    def __init__(self, batch_size: int = batching.DEFAULT_BATCH_SIZE, classical: bool = True) -> None:
        self.batch_size = int(batch_size)
        self.classical = bool(classical)
        self._model = None
        self._kind = "regressor"
        self._fn = None

    # MLflow calls this once when loading, with the artifact paths and model_config of the model.
    def load_context(self, context) -> None:
        config = getattr(context, "model_config", None) or {}
        if config.get("batch_size") is not None:
            self.batch_size = int(config["batch_size"])
        self.load_keras(context.artifacts[KERAS_ARTIFACT])

    @property
    def keras_model(self):
        """The loaded Keras model (None before :meth:`load_keras`)."""
        return self._model

    def load_keras(self, path: str | os.PathLike) -> None:
        """Load the ``.keras`` file (custom layers of roughml.learning.model registered first)."""
        import_keras()
        from roughml.learning import model as rmodel
        self._model = rmodel.load(str(path))
        self._kind = rmodel.model_kind(self._model)
        self._fn = _shape_agnostic_call(self._model)

    def __getstate__(self) -> dict[str, Any]:
        # Versions logged before models from code hold a pickle of this object; the Keras model is
        # an artifact, never part of it.
        return {"batch_size": self.batch_size, "classical": self.classical}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)

    # --- public prediction paths ---------------------------------------------------------------

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Rows for a ``path`` or ``image`` frame; ``params`` may set ``classical`` and ``batch_size``.

        The options apply to this call only (the object is shared by concurrent requests).
        """
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        params = params or {}
        classical = bool(params.get("classical", self.classical))
        batch_size = max(1, int(params.get("batch_size") or self.batch_size))
        return self.frame(self.predict_items(_items_from_frame(frame), classical=classical,
                                             batch_size=batch_size))

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
        for col in ("zeta", "zeta_std", "zeta_classical", "length_px", "x", "y"):
            df[col] = df[col].astype(np.float64)
        for col in ("wall", "width", "height"):
            df[col] = df[col].astype("Int64")
        df["warning"] = df["warning"].fillna("").astype(str)
        return df

    def predict_items(self, items: Iterable[Item], *, classical: bool | None = None,
                      batch_size: int | None = None) -> list[dict[str, Any]]:
        """One record per item, in input order; images of one shape share forward passes.

        ``classical`` and ``batch_size`` default to the object's own settings.
        """
        if self._model is None:
            raise RoughmlError("the roughml pyfunc has no Keras model loaded")
        classical = self.classical if classical is None else bool(classical)
        return self.infer_prepared([prepared for label, gray, error in items
                                    for prepared in prepare_item(label, gray, error, classical)],
                                   batch_size=batch_size)

    def infer_prepared(self, prepared: Sequence[Prepared], *,
                       batch_size: int | None = None) -> list[dict[str, Any]]:
        """Fill ``zeta`` and ``zeta_std`` of records made by :func:`roughml.serving.preparation.prepare_item`.

        Images of one shape are stacked into forward passes of at most ``batch_size`` images and
        ``roughml.serving.batching.MAX_BATCH_PIXELS`` pixels (:func:`roughml.serving.batching.forward_passes`);
        records keep their order. A failing forward pass turns only its own images into error
        rows, so that one shape too large for memory does not cost the other results. Each ok
        record then gets its ``warning`` (:func:`roughml.serving.warnings.model_warning`).
        ``batch_size`` defaults to the object's own.
        """
        if self._model is None:
            raise RoughmlError("the roughml pyfunc has no Keras model loaded")
        records = [record for record, _ in prepared]
        shapes = [None if image is None else image.shape for _, image in prepared]
        for members in batching.forward_passes(shapes, int(batch_size or self.batch_size)):
            batch = np.stack([prepared[i][1] for i in members]).astype(np.float32, copy=False)[..., None]
            try:
                zeta, zeta_std = self._infer(batch)
            except Exception as exc:  # noqa: BLE001 - e.g. out of memory on one huge shape
                for index in members:
                    records[index].update(status="error", message=f"inference failed: {exc}")
                continue
            for index, z, sd in zip(members, zeta, zeta_std):
                records[index]["zeta"] = float(z)
                records[index]["zeta_std"] = float(sd)
        for record in records:
            record["warning"] = model_warning(record)
        return records

    def _infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ζ and its standard deviation of one forward pass (serving's one call of ``decode``).

        ``decode`` of :mod:`roughml.learning.model` reads the regressor's and the classifier's
        outputs alike, so the pyfunc serves either kind of model.
        """
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
    """Import Keras (and TensorFlow) for inference with a quiet start.

    Why: TensorFlow writes start-up notices from C++ straight to stderr. The environment it reads
    at import (oneDNN kernels on, C++ log level) is set by ``roughml/__init__.py``, which has run
    before this module; nothing changes when TensorFlow is already imported.
    """
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        return
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


#: MLflow type of each output column (width and height are missing when an image cannot be read).
_OUTPUT_TYPES = {"path": "string", "wall": "long", "kind": "string", "zeta": "double", "zeta_std": "double",
                 "zeta_classical": "double", "length_px": "double", "x": "double", "y": "double",
                 "orientation": "string", "width": "long", "height": "long", "warning": "string",
                 "status": "string", "message": "string"}
#: Output columns that are missing on some rows (an image that could not be read has no size, a
#: file with no wall no wall number).
_OPTIONAL_OUTPUTS = ("wall", "width", "height")


def signature(batch_size: int = batching.DEFAULT_BATCH_SIZE):
    """Input: optional ``path`` (string) or ``image`` (binary) column; output: the result columns;
    params: :data:`PARAMS` (``classical`` boolean, ``batch_size`` long).

    MLflow hands every param to ``predict``, its default when the caller gives none, so the
    default of ``batch_size`` is the logged model's own.
    """
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    inputs = Schema([ColSpec("string", "path", required=False), ColSpec("binary", "image", required=False)])
    outputs = Schema([ColSpec(_OUTPUT_TYPES[column], column, required=column not in _OPTIONAL_OUTPUTS)
                      for column in COLUMNS])
    params = ParamSchema([ParamSpec("classical", "boolean", PARAMS["classical"]),
                          ParamSpec("batch_size", "long", int(batch_size))])
    return ModelSignature(inputs=inputs, outputs=outputs, params=params)


def _package_copy(workdir: Path) -> Path:
    """A clean copy (no caches) of the parts of the installed roughml package in :data:`SHIPPED_PARTS`.

    Only what loading and predicting import is shipped, so that the logged model does not change
    when the pipeline, the data sets or the CLI do.
    """
    source = Path(importlib.import_module("roughml").__file__).resolve().parent
    target = workdir / "roughml"
    target.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for part in SHIPPED_PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, ignore=ignore)
        else:
            shutil.copy2(source / part, target / part)
    return target


def log_model(keras_path: str | os.PathLike, name: str = "model", input_example: Any = None, *,
              batch_size: int = batching.DEFAULT_BATCH_SIZE, registered_model_name: str | None = None):
    """Log the ``.keras`` file as a roughml pyfunc in the active run (or a new one) and return its info.

    The pyfunc is logged from code (:data:`MODEL_CODE`), with ``batch_size`` in its
    ``model_config`` and the shipped roughml layers as ``code_paths``.

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
            python_model=str(MODEL_CODE),
            model_config={"batch_size": int(batch_size)},
            artifacts={KERAS_ARTIFACT: str(keras_path)},
            code_paths=[str(code)],
            signature=signature(batch_size),
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
