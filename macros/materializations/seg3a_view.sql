{#
  Materialization `view` on DuckDB (the project's views: staging, the S3-S5 views): the
  view replaced in one statement, `create or replace view` (macro duckdb__create_view_as),
  inside the node's transaction, then its hooks.

  Why not dbt's default `view`: that one creates the view under an intermediate name,
  renames any existing one to a backup, renames the new one into place and drops the
  backup, each step an adapter call with its relation-cache update and log events (four
  statements and a few milliseconds of dbt's machinery per view, about a dozen views per
  build). DuckDB replaces a view atomically, so the rename dance buys nothing here. A
  table of the same name (an earlier materialization) is dropped first. As with
  `seg3a_table`, grants and persist_docs are not applied (the project configures neither).
#}
{% materialization view, adapter='duckdb', supported_languages=['sql'] %}
    {%- set target_relation = seg3a_table_begin(relation_type='view') -%}

    {%- call statement('main') -%}
        {{ get_create_view_as_sql(target_relation, sql) }}
    {%- endcall -%}

    {{ seg3a_table_end() }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
