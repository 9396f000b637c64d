"""The seg3a UDFs on Spark: the SAME Arrow functions the DuckDB plugin registers
(python_udfs.plugin.UDF_REGISTRY), registered as Spark Arrow UDFs under the same names.

Spark has no unsigned integers: a UBIGINT travels as decimal(20,0) (exact for every
uint64). Each call casts Spark's Arrow arrays to the types DuckDB would hand the function
(decimal(20,0) -> uint64, large strings -> strings, ...) and the result back to Spark's
types, so the function body is shared, not copied."""
from __future__ import annotations

import pyarrow as pa

from python_udfs.arrays import plain_array

# The functions the per-pair models of the Spark target call.
SPARK_UDFS = ("s3a_hash_uniform", "s3a_dirichlet_draw", "s3a_integerise")

U64_ON_SPARK = pa.decimal128(20, 0)


def arrow_type_of(duckdb_type: str) -> pa.DataType:
    """Arrow type DuckDB hands an Arrow UDF for a DuckDB type of UDF_REGISTRY."""
    import duckdb

    return duckdb.sql(f"select null::{duckdb_type} as v").arrow().schema.field("v").type


def spark_arrow_type(arrow_type: pa.DataType) -> pa.DataType:
    """The Arrow type Spark exchanges for `arrow_type`: uint64 -> decimal(20,0), the
    other unsigned widths -> the next signed width, nested types field by field."""
    if pa.types.is_uint64(arrow_type):
        return U64_ON_SPARK
    if pa.types.is_uint32(arrow_type):
        return pa.int64()
    if pa.types.is_uint16(arrow_type) or pa.types.is_uint8(arrow_type):
        return pa.int32()
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return pa.list_(spark_arrow_type(arrow_type.value_type))
    if pa.types.is_struct(arrow_type):
        return pa.struct([pa.field(f.name, spark_arrow_type(f.type)) for f in arrow_type])
    if pa.types.is_large_string(arrow_type):
        return pa.string()
    return arrow_type


def spark_ddl(arrow_type: pa.DataType) -> str:
    """Spark DDL type string of a Spark-side Arrow type."""
    simple = {pa.float64(): "double", pa.int64(): "bigint", pa.int32(): "int", pa.string(): "string",
              pa.bool_(): "boolean", U64_ON_SPARK: "decimal(20,0)"}
    if arrow_type in simple:
        return simple[arrow_type]
    if pa.types.is_list(arrow_type):
        return f"array<{spark_ddl(arrow_type.value_type)}>"
    if pa.types.is_struct(arrow_type):
        return "struct<" + ",".join(f"{f.name}:{spark_ddl(f.type)}" for f in arrow_type) + ">"
    raise TypeError(f"no Spark type for {arrow_type}")


def spark_adapter(udf):
    """(python function on Spark Arrow arrays, Spark return DDL) for one registry entry."""
    function = udf.function  # the closure holds the function only: no registry (and dbt) import in workers
    parameter_types = [arrow_type_of(t) for t in udf.parameters]
    spark_return = spark_arrow_type(arrow_type_of(udf.return_type))

    def call(*arrays: pa.Array) -> pa.Array:
        duck_arrays = [plain_array(a).cast(t) for a, t in zip(arrays, parameter_types)]
        return plain_array(function(*duck_arrays)).cast(spark_return)

    call.__name__ = udf.name
    return call, spark_ddl(spark_return)


def register_udfs(session) -> None:
    # Imported here, not at the top: Spark's Python workers import this module to run the
    # adapters, and the plugin module would make each of them import dbt.
    from pyspark.sql.functions import arrow_udf

    from python_udfs.plugin import UDF_REGISTRY

    for udf in UDF_REGISTRY:
        if udf.name in SPARK_UDFS:
            function, ddl = spark_adapter(udf)
            session.udf.register(udf.name, arrow_udf(function, ddl))
