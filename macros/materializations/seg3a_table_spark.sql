{#
  Materialization `seg3a_table` on the Spark target (`seg3a build --target spark`): the
  model's table dropped and re-created as a Parquet table of the build's own warehouse.
  Only the per-pair models (meta seg3a_engine: spark) run on Spark; their tables are
  scratch, read back by the DuckDB phases of the same build (seg3a_spark_output_sql).
#}
{% materialization seg3a_table, adapter='spark', supported_languages=['sql'] %}
    {%- set target_relation = this.incorporate(type='table') -%}
    {{ run_hooks(pre_hooks) }}
    {%- call statement('drop_existing') -%}
        drop table if exists {{ target_relation }}
    {%- endcall -%}
    {%- call statement('main') -%}
        create table {{ target_relation }} using parquet as
        {{ compiled_code }}
    {%- endcall -%}
    {{ run_hooks(post_hooks) }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
