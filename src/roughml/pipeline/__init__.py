"""The DVC stages train, evaluate and register: thin wiring from params.yaml and the files of the
previous stage to the library, and their MLflow bookkeeping.
"""

__all__ = ["evaluate", "lineage", "register", "train"]
