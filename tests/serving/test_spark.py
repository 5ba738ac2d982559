"""The README's Spark example, run in local Spark against a tiny registered roughml model.

Why: ``spark_udf`` returns one Spark type; with ``result_type="string"`` it returns the leftmost
output column (the path) as text, not ζ. The README therefore asks for a struct of all output
columns; this test runs that code as printed wherever Java is there (pyspark is in the ``test`` extra and
the lock file, so a missing pyspark fails rather than skips). ``width`` and
``height`` are doubles in that struct: MLflow casts each struct field with numpy, and a missing
value (an unreadable file) cannot become a long (``cannot convert NA to integer``).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from roughml.serving import pyfunc as pyfunc_model
from roughml.serving.rows import COLUMNS
from tests.serving.conftest import register_tiny_model

#: The struct the README's example asks for: every output column, in order, with its Spark type.
RESULT_TYPE = ("path string, wall double, kind string, zeta double, zeta_std double, zeta_classical double, "
               "length_px double, x double, y double, orientation string, width double, height double, "
               "warning string, status string, message string")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None and not os.environ.get("JAVA_HOME"),
                       reason="no Java runtime (java not on PATH, JAVA_HOME unset): local Spark cannot start"),
]


def test_result_type_lists_every_output_column():
    spark_types = {**pyfunc_model._OUTPUT_TYPES, "wall": "double", "width": "double", "height": "double"}
    assert RESULT_TYPE == ", ".join(f"{c} {spark_types[c]}" for c in COLUMNS)


@pytest.fixture()
def spark(monkeypatch):
    from pyspark.sql import SparkSession

    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.setenv("PYSPARK_DRIVER_PYTHON", sys.executable)
    session = (SparkSession.builder.master("local[1]").appName("roughml-test")
               .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
               .config("spark.sql.shuffle.partitions", "1").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()




def test_readme_spark_example(sqlite_tracking, tmp_path, spark):
    register_tiny_model(tmp_path, "roughml-spark-test")
    rng = np.random.default_rng(3)
    paths = []
    for i in range(3):
        h = 32 + np.cumsum(rng.normal(0.0, 1.0, 64))
        image = np.where(np.arange(64)[None, :] < (h - h.mean() + 32)[:, None], 40, 210).astype(np.uint8)
        Image.fromarray(image).save(tmp_path / f"w{i}.png")
        paths.append(str(tmp_path / f"w{i}.png"))
    paths.append(str(tmp_path / "missing.png"))

    # --- the README's example ---
    import mlflow
    from pyspark.sql.functions import struct

    predict = mlflow.pyfunc.spark_udf(spark, "models:/roughml@production", result_type=RESULT_TYPE,
                                      env_manager="local")
    df = spark.createDataFrame([(p,) for p in paths], ["path"])
    rows = df.withColumn("result", predict(struct("path"))).select("result.*").collect()
    # ---

    assert [row["path"] for row in rows] == paths
    assert [row["status"] for row in rows] == ["ok", "ok", "ok", "error"]
    for row in rows[:3]:
        assert np.isfinite(row["zeta"]) and row["zeta_std"] > 0 and (row["width"], row["height"]) == (64, 64)
    assert rows[3]["message"] and rows[3]["zeta"] is None and rows[3]["width"] is None  # NaN arrives as null
    assert rows[3]["orientation"] in ("", None)
    local = mlflow.pyfunc.load_model("models:/roughml@production").predict(pd.DataFrame({"path": paths[:1]}))
    assert rows[0]["zeta"] == pytest.approx(float(local["zeta"][0]), abs=1e-6)
