"""roughml: measure the roughness exponent ζ of interfaces from images."""

import os as _os

# TensorFlow leaves its oneDNN CPU kernels off on some processors (AMD among them); with them the
# 2-D stem runs ~20x faster (measured on this project's 2-core CI machine). Results differ only by
# float32 rounding. Must be set before TensorFlow is imported; a user's own setting wins.
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"
