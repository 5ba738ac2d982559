"""The learned estimator: Keras model, losses, metrics and the training-loop pieces.

Knows nothing of files, MLflow or params.yaml: callers pass arrays, sizes and rates, so that the
same code trains in the pipeline, a notebook or a test.
"""

__all__ = ["model", "training"]
