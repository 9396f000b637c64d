"""The process-wide SparkSession of the Spark target, created before dbt runs so that
dbt-spark's session mode (`SparkSession.builder.getOrCreate()`) gets it with the seg3a
UDFs registered (SQL hooks cannot register Python UDFs).

Settings come from the environment (README "Running on Spark"):
    SEG3A_SPARK_MASTER         Spark master URL (default local[1]; e.g. spark://host:7077, yarn)
    SEG3A_SPARK_DRIVER_MEMORY  spark.driver.memory (default 2g)
    SEG3A_SPARK_CONF           extra settings, `key=value` separated by `;`
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_MASTER = "local[1]"
DEFAULT_DRIVER_MEMORY = "2g"


class SparkConfigError(ValueError):
    """A SEG3A_SPARK_* setting is malformed."""


def extra_settings(text: str) -> dict[str, str]:
    """`a=1; b=2` -> {"a": "1", "b": "2"}; a part without `=` is an error."""
    settings = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise SparkConfigError(f"E3A_PLUGIN_CONFIG: SEG3A_SPARK_CONF part {part!r} is not key=value")
        settings[key.strip()] = value.strip()
    return settings


def spark_session(work_dir: Path):
    """The session (created once per process): in-memory catalogue with its warehouse under
    `work_dir`, UTC, no UI, the seg3a UDFs registered."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from .udfs import register_udfs

    settings = {
        "spark.master": os.environ.get("SEG3A_SPARK_MASTER") or DEFAULT_MASTER,
        "spark.app.name": "seg3a",
        "spark.driver.memory": os.environ.get("SEG3A_SPARK_DRIVER_MEMORY") or DEFAULT_DRIVER_MEMORY,
        # The tables of the Spark phase are scratch: no Hive metastore (dbt-spark asks for
        # Hive support, which an existing session ignores), a warehouse of the build's own.
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.warehouse.dir": str(work_dir / "warehouse"),
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "8",
        **extra_settings(os.environ.get("SEG3A_SPARK_CONF", "")),
    }
    builder = SparkSession.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    register_udfs(session)
    return session
