{#
  seg3a_cast(expression, type) -> SQL cast of `expression` to the contract type `type`,
  written as DuckDB names it (ubigint, uinteger, varchar, double, boolean, bigint, ...).
  DuckDB: expression::type. Spark has no unsigned types: ubigint becomes decimal(20,0)
  (exact for every uint64), uinteger bigint; the other names are Spark's own. The Spark
  target's outputs come back to DuckDB cast to the DuckDB types (seg3a_table), so the
  published bytes are the same.
#}
{% macro seg3a_cast(expression, type) -%}
    {{ return(adapter.dispatch('seg3a_cast', 'seg3a')(expression, type)) }}
{%- endmacro %}

{% macro default__seg3a_cast(expression, type) -%}
{{ expression }}::{{ type }}
{%- endmacro %}

{% macro spark__seg3a_cast(expression, type) -%}
    {%- set spark_types = {'ubigint': 'decimal(20,0)', 'uinteger': 'bigint', 'varchar': 'string'} -%}
cast({{ expression }} as {{ spark_types.get(type | lower, type) }})
{%- endmacro %}
