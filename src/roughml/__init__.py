"""roughml: measure the roughness exponent ζ of interfaces from images.

Process-wide environment defaults live here, and only here: they must be in place before
TensorFlow or GitPython is first imported, and every entry point (the CLI, the logged pyfunc, a
notebook) imports this package first. A value the user set already always wins.
"""

import os as _os

_ENVIRONMENT_DEFAULTS = {
    # TensorFlow leaves its oneDNN CPU kernels off on some processors (AMD among them); with them
    # the 2-D stem runs ~20x faster (measured on this project's 2-core CI machine). Results differ
    # only by float32 rounding.
    "TF_ENABLE_ONEDNN_OPTS": "1",
    # TensorFlow's C++ start-up chatter on stderr.
    "TF_CPP_MIN_LOG_LEVEL": "2",
    # MLflow and DVC import GitPython, which warns on machines without git.
    "GIT_PYTHON_REFRESH": "quiet",
}
for _name, _value in _ENVIRONMENT_DEFAULTS.items():
    _os.environ.setdefault(_name, _value)

__version__ = "0.1.0"
