{#
  Materialization `seg3a_table` (SQL and Python models): the model's table replaced in one
  statement, `create or replace table`, inside the node's transaction, then its hooks.

  Why not dbt-duckdb's `table`: that one builds an intermediate relation, renames the old
  table to a backup, renames the new one into place and drops the backup, each step a
  separate adapter call that builds dbt's macro context; for the segment's ~60 small
  tables that was about 1.5 CPU s per build. DuckDB replaces a table atomically, so the
  rename dance buys nothing here. A view of the same name (an earlier materialization)
  is dropped first. An enforced contract (the published datasets) is applied as dbt
  does (macro seg3a_create_table; dbt allows contracts on SQL models only).
#}
{% materialization seg3a_table, adapter='duckdb', supported_languages=['sql', 'python'] %}
    {%- set language = model['language'] -%}
    {%- if language == 'sql' -%}
        {#- a model the Spark target computed reads Spark's rows instead (seg3a_spark_output_sql) -#}
        {%- set compiled_code = seg3a_spark_output_sql(compiled_code) -%}
    {%- endif -%}
    {%- set target_relation = seg3a_table_begin() -%}

    {%- call statement('main', language=language) -%}
        {%- if language == 'sql' -%}
            {{ seg3a_create_table(target_relation, compiled_code) }}
        {%- else -%}
            {{ seg3a_python_replace_table(target_relation, compiled_code) }}
        {%- endif -%}
    {%- endcall -%}

    {{ seg3a_table_end() }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{#
  The Python module dbt-duckdb runs for a Python model: the model's code, run through
  seg3a.states.model_failures.run_python_model (a failure shows as one coded line with the
  fix to try, its trace going to the dbt log), then `materialize(df, con)`, which replaces
  the table by the returned frame (an Arrow table or DuckDB relation), registered under a
  name of its own and unregistered afterwards.
#}
{% macro seg3a_python_replace_table(relation, compiled_code) -%}
{{ compiled_code }}


_seg3a_model = model


def model(dbt, session):
    from seg3a.states.model_failures import run_python_model

    return run_python_model(_seg3a_model, dbt, session)


def materialize(df, con):
    import pyarrow.dataset  # noqa: F401  (DuckDB scans a registered Arrow table through it)

    name = "__seg3a_python_model_{{ relation.identifier }}"
    con.register(name, df)
    try:
        con.execute('create or replace table {{ relation }} as select * from "' + name + '"')
    finally:
        con.unregister(name)
{%- endmacro %}
