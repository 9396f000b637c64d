{#
  Materializations of the Spark target (`seg3a build --target spark`): `seg3a_table` and
  `view` alike drop and re-create the model as a Parquet table of the build's own
  warehouse. Only the per-pair models (meta seg3a_engine: spark) run on Spark; their
  tables are scratch, read back by the DuckDB phases of the same build
  (seg3a_spark_output_sql), so a model that is a view on DuckDB needs its rows stored here.
#}
{% materialization seg3a_table, adapter='spark', supported_languages=['sql'] %}
    {{ return(seg3a_spark_parquet_table()) }}
{% endmaterialization %}

{% materialization view, adapter='spark', supported_languages=['sql'] %}
    {{ return(seg3a_spark_parquet_table()) }}
{% endmaterialization %}

{% macro seg3a_spark_parquet_table() %}
    {#- Only `seg3a build --target spark` (which sets SEG3A_SPARK_OUTPUTS) knows which models
        Spark may build and hands it their DuckDB inputs; plain dbt on this target would not. -#}
    {%- if env_var('SEG3A_SPARK_OUTPUTS', '') == '' -%}
        {{ exceptions.raise_compiler_error(
            'E3A_PLUGIN_CONFIG: the spark target is run by `seg3a build --target spark`, not by dbt alone'
            ~ ' | fix: .venv/bin/seg3a build --target spark (README, Running on Spark)') }}
    {%- endif -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {{ run_hooks(pre_hooks) }}
    {%- call statement('drop_existing') -%}
        drop table if exists {{ target_relation }}
    {%- endcall -%}
    {%- call statement('main') -%}
        create table {{ target_relation }} using parquet as
        {{ sql }}
    {%- endcall -%}
    {{ run_hooks(post_hooks) }}
    {{ return({'relations': [target_relation]}) }}
{% endmacro %}
