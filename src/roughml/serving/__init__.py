"""Serving: everything between a trained model and a user's table of ζ values.

MLflow tracking set-up (:mod:`~roughml.serving.tracking`), model registry promotion
(:mod:`~roughml.serving.registry`) and reading (:mod:`~roughml.serving.lookup`: aliases, versions),
the MLflow pyfunc that carries the preprocessing with the model (:mod:`~roughml.serving.pyfunc`,
logged from code: :mod:`~roughml.serving.model_code`), batch prediction over folders (:mod:`~roughml.serving.predict`,
with its worker processes in :mod:`~roughml.serving.stream`) and the classical folder estimate
(:mod:`~roughml.serving.estimate`), the result rows with their output formats
(:mod:`~roughml.serving.rows`) and their ``warning`` column (:mod:`~roughml.serving.warnings`), and
the ensemble report of a batch (:mod:`~roughml.serving.report`).
Below them: the inputs a run accepts (:mod:`~roughml.serving.inputs`), the per-image work
(:mod:`~roughml.serving.preparation`) and how images are grouped for the network
(:mod:`~roughml.serving.batching`).

Why a layer of its own: these parts depend on MLflow and on the model's layers below, and the
pipeline and the CLI above use them; the sub-modules are not imported here, so that
``import roughml.serving`` stays cheap (MLflow and TensorFlow load only where needed).
"""

__all__ = ["batching", "estimate", "inputs", "lookup", "model_code", "predict", "preparation", "pyfunc", "registry",
           "report", "rows", "stream", "tracking", "warnings"]
