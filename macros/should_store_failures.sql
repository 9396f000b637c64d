{#
  should_store_failures() -> whether a data test stores its failing rows (dbt's global
  macro of that name, overridden here; dbt uses the root project's macro first).

  The same as dbt's, except for the S6 tests in a `dbt build` where they read their rows
  from int_s6__checks_evaluated (seg3a_s6_tests_read_evaluated): those rows are already
  stored there, and published as s6_issue_table_3A, so the tests do not copy them into
  the `dbt_test__audit` schema (a drop, a create and a commit per test, about 15 ms each).
  `dbt test`, whose on-run-end publication reads the stored failures, stores them as
  configured (`store_failures: true` on every S6 test).
#}
{% macro should_store_failures() %}
    {%- if seg3a_s6_tests_read_evaluated() and (config.get('meta') or {}).get('seg3a_check_id') -%}
        {% do return(false) %}
    {%- endif -%}
    {%- set config_store_failures = config.get('store_failures') -%}
    {%- if config_store_failures is none -%}
        {%- set config_store_failures = flags.STORE_FAILURES -%}
    {%- endif -%}
    {% do return(config_store_failures) %}
{% endmacro %}
