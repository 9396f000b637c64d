{#
  dbt-duckdb's create_view_as (the `view` materialization, macros/materializations/
  seg3a_view.sql), with two differences: the view is created or replaced in one
  statement, and a view the Spark target computed reads Spark's rows
  (seg3a_spark_output_sql); any other view is created as dbt-duckdb does.
#}
{% macro duckdb__create_view_as(relation, sql) -%}
  {%- set sql = seg3a_spark_output_sql(sql) -%}
  {% set contract_config = config.get('contract') %}
  {% if contract_config.enforced %}
    {{ get_assert_columns_equivalent(sql) }}
  {%- endif %}
  {%- set sql_header = config.get('sql_header', none) -%}

  {{ sql_header if sql_header is not none }}
  create or replace view {{ relation }} as (
    {{ sql }}
  );
{% endmacro %}
