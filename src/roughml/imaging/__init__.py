"""Imaging layer: image I/O, wall detection and extraction, canonical model inputs, classical estimate.

It turns any grayscale image (file or array, any orientation and polarity) into what the
estimators need: the wall's geometry, its height profile, the canonical model input, and the
classical ζ of the image. It builds on :mod:`roughml.physics` and knows nothing of datasets,
models or serving.
"""

__all__ = ["canonical", "classical", "detection", "reader"]
