"""The Spark target's pure parts, without a JVM: the phase plan of `seg3a build --target
spark`, the Arrow type mapping of the Spark UDF adapters, the adapters' results against
the DuckDB UDFs on the same inputs, and the SEG3A_SPARK_CONF parser (E3A_PLUGIN_CONFIG)."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from python_udfs.plugin import UDF_REGISTRY
from seg3a.spark.build import plan_phases, spark_inputs
from seg3a.spark.session import SparkConfigError, extra_settings
from seg3a.spark.udfs import SPARK_UDFS, U64_ON_SPARK, spark_adapter, spark_arrow_type, spark_ddl

H = "3" * 64


def node(name, engine="duckdb", parents=(), ephemeral=False):
    return {"name": name, "engine": engine, "ephemeral": ephemeral, "parents": [f"model.{p}" for p in parents]}


def graph(*nodes):
    return {f"model.{n['name']}": n for n in nodes}


# ----------------------------------------------------------------------------- the plan
def test_phases_alternate_and_spark_rows_are_read_back_by_the_next_duckdb_phase():
    nodes = graph(
        node("s0"), node("policy", parents=["s0"]),
        node("counts", "spark", ["s0", "policy"]),
        node("country_check", parents=["counts"]),        # DuckDB after Spark: second wave needed
        node("decide", "spark", ["counts", "country_check"]),
        node("publish", parents=["decide"]),
        node("late", parents=["s0"]),                       # no Spark ancestor: first phase
    )
    phases = [(p.engine, p.index, sorted(p.models)) for p in plan_phases(nodes)]
    assert phases == [
        ("duckdb", 0, ["late", "policy", "s0"]),
        ("spark", 0, ["counts"]),
        ("duckdb", 1, ["country_check", "counts"]),
        ("spark", 1, ["decide"]),
        ("duckdb", 2, ["decide", "publish"]),
    ]


def test_consecutive_spark_models_share_a_wave_and_ephemerals_have_no_phase():
    nodes = graph(
        node("queue"), node("alphas", parents=["queue"], ephemeral=True),
        node("draws", "spark", ["alphas"]), node("counts", "spark", ["draws"]),
        node("published", parents=["counts"]),
    )
    phases = [(p.engine, p.index, sorted(p.models)) for p in plan_phases(nodes)]
    assert phases == [("duckdb", 0, ["queue"]), ("spark", 0, ["counts", "draws"]),
                      ("duckdb", 1, ["counts", "draws", "published"])]


def test_a_spark_wave_reads_duckdb_relations_through_ephemeral_models_only():
    nodes = graph(
        node("queue"), node("priors"), node("alphas", parents=["queue", "priors"], ephemeral=True),
        node("policy"), node("draws", "spark", ["alphas", "policy"]), node("counts", "spark", ["draws"]),
    )
    assert spark_inputs(nodes, {"draws", "counts"}) == ["policy", "priors", "queue"]


def test_without_spark_models_the_plan_is_one_duckdb_build():
    phases = plan_phases(graph(node("a"), node("b", parents=["a"])))
    assert [(p.engine, sorted(p.models)) for p in phases] == [("duckdb", ["a", "b"])]


# ----------------------------------------------------------------------------- types
def test_unsigned_types_map_to_exact_signed_spark_types_field_by_field():
    duck = pa.list_(pa.struct([("merchant_id", pa.uint64()), ("n", pa.uint32()), ("shares", pa.list_(pa.float64()))]))
    spark = spark_arrow_type(duck)
    assert spark == pa.list_(pa.struct([("merchant_id", U64_ON_SPARK), ("n", pa.int64()),
                                        ("shares", pa.list_(pa.float64()))]))
    assert spark_ddl(spark) == "array<struct<merchant_id:decimal(20,0),n:bigint,shares:array<double>>>"
    # decimal(20,0) holds every uint64 exactly, the largest too
    top = pa.array([2**64 - 1, 0], type=pa.uint64())
    assert top.cast(U64_ON_SPARK).cast(pa.uint64()).equals(top)


def test_only_the_per_pair_udfs_are_registered_on_spark():
    assert set(SPARK_UDFS) <= {udf.name for udf in UDF_REGISTRY}


# ----------------------------------------------------------------------------- adapters
def registry(name):
    return next(udf for udf in UDF_REGISTRY if udf.name == name)


def test_hash_uniform_adapter_equals_the_duckdb_udf_on_spark_typed_input():
    ids = [1, 2**63 + 5, 2**64 - 1, 123456789]
    labels = pa.array(["3A.S1.theta_mix", "3A.S1.smooth_band"] * 2)
    countries = pa.array(["DE", "US", "FR", "BR"])
    hashes = pa.array([H] * 4)
    expected = registry("s3a_hash_uniform").function(labels, pa.array(ids, pa.uint64()), countries, hashes)
    adapter, ddl = spark_adapter(registry("s3a_hash_uniform"))
    got = adapter(labels.cast(pa.large_string()), pa.array(ids, pa.uint64()).cast(U64_ON_SPARK), countries, hashes)
    assert ddl == "double" and got.equals(expected)


def test_dirichlet_adapter_equals_the_duckdb_udf_bit_for_bit():
    udf = registry("s3a_dirichlet_draw")
    pair = pa.struct([("merchant_id", pa.uint64()), ("legal_country_iso", pa.string()),
                      ("alphas", pa.list_(pa.float64()))])
    pairs = pa.array([[{"merchant_id": 2**64 - 2, "legal_country_iso": "US", "alphas": [0.5, 1.5, 2.0]},
                       {"merchant_id": 7, "legal_country_iso": "BR", "alphas": [3.0, 0.25]}]], type=pa.list_(pair))
    run = [pa.array(["f" * 64]), pa.array([42], pa.uint64()), pa.array([H]), pa.array([True]),
           *(pa.array([v]) for v in (1.0, 1.0, 0.1, 0.5, 1e-6))]
    expected = udf.function(pairs, *run)
    adapter, ddl = spark_adapter(udf)
    spark_in = [pairs.cast(spark_arrow_type(pairs.type)), run[0], run[1].cast(U64_ON_SPARK), *run[2:]]
    got = adapter(*spark_in)
    assert ddl.startswith("array<struct<merchant_id:decimal(20,0),")
    assert got.cast(expected.type).equals(expected)
    shares = np.array(got.flatten().field("shares")[0].as_py())
    assert shares.size == 3 and abs(shares.sum() - 1) < 1e-12


def test_integerise_adapter_equals_the_duckdb_udf():
    udf = registry("s3a_integerise")
    shares = pa.array([[0.3, 0.3, 0.4], [1.0], [0.25] * 4], pa.list_(pa.float64()))
    site_counts = pa.array([5, 2**32 - 1, 3], pa.int64())
    expected = udf.function(shares, site_counts)
    adapter, ddl = spark_adapter(udf)
    got = adapter(shares, site_counts)
    assert ddl.startswith("array<struct<zone_index:bigint,fractional_target:double,")
    assert got.equals(expected)
    assert [z["zone_site_count"] for z in got.to_pylist()[0]] == [2, 1, 2]


# ----------------------------------------------------------------------------- settings
def test_extra_spark_settings_parse_and_a_malformed_one_is_refused():
    assert extra_settings(" spark.a=1 ; spark.b = x=y ;") == {"spark.a": "1", "spark.b": "x=y"}
    with pytest.raises(SparkConfigError, match="E3A_PLUGIN_CONFIG: SEG3A_SPARK_CONF part 'spark.c'"):
        extra_settings("spark.a=1;spark.c")
