"""Portable elementary functions: accurate, and the same bits whatever SIMD kernels NumPy picks."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from roughml.physics import portable


def _dispatched_features() -> list[str]:
    """NumPy's run-time SIMD targets present on this CPU, best first (disabling them emulates an
    older processor)."""
    from numpy._core._multiarray_umath import __cpu_features__ as present

    wanted = ("AVX512_SPR", "AVX512_ICL", "AVX512_SKX", "X86_V4", "X86_V3")
    return [name for name in wanted if present.get(name)]


def test_exp_and_log_agree_with_numpy_to_a_few_ulp():
    x = np.random.default_rng(0).uniform(-40.0, 40.0, 20_000)
    np.testing.assert_allclose(portable.exp(x), np.exp(x), rtol=2e-15, atol=0)
    y = portable.exp(x)
    np.testing.assert_allclose(portable.log(y), np.log(y), rtol=2e-15, atol=1e-14)
    assert portable.log(np.array([1.0]))[0] == 0.0
    assert portable.exp(np.array([0.0]))[0] == 1.0


def _digest_script() -> str:
    return ("import hashlib, numpy as np\n"
            "from roughml.physics import portable\n"
            "x = np.random.default_rng(0).uniform(-30, 30, 50_000)\n"
            "print(hashlib.md5(portable.exp(x).tobytes() + portable.log(portable.exp(x)).tobytes()).hexdigest())\n")


def test_same_bits_when_numpy_uses_older_simd_kernels():
    features = _dispatched_features()
    if not features:
        pytest.skip("this CPU has none of NumPy's run-time SIMD targets to switch off")
    digests = set()
    for disabled in ("", " ".join(features)):
        env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": disabled}
        run = subprocess.run([sys.executable, "-c", _digest_script()], capture_output=True, text=True,
                             env=env, check=True)
        digests.add(run.stdout.strip())
    assert len(digests) == 1
    # ... while NumPy's own exp does differ between those kernels on this data set (if it did not,
    # this test would prove nothing about the CPU dependence it guards against).
    x = np.random.default_rng(0).uniform(-30, 30, 50_000)
    assert hashlib.md5(portable.exp(x).tobytes()).hexdigest() != hashlib.md5(np.exp(x).tobytes()).hexdigest()
