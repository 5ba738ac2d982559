"""Data layer: dataset generation and storage, great-expectations validation, galleries and examples.

It turns ``params.yaml``'s ``generate`` block into the stored splits (heights plus the numbers
needed to re-render each sample), checks them, renders them into model inputs and into the
pictures a person looks at. It builds on :mod:`roughml.physics` and :mod:`roughml.imaging` and
never imports :mod:`roughml.learning` (nor the other way round).
"""

__all__ = ["datasets", "examples", "gallery", "model_inputs", "validation"]
