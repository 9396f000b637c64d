{#
  seg3a_s6_tests_read_evaluated() -> true when the S6 tests of this invocation read their
  rows from `int_s6__checks_evaluated` (the project var `seg3a_s6_evaluated_model`):
  a `dbt build` that runs that model. In `dbt build` the model runs every S6 test's
  query once, rendered from the same test macro, and the report, issue table and receipt
  are published from its rows; the tests then surface the same rows instead of running
  each query a second time, so they pass or fail exactly as their queries would. In
  `dbt test`, when the model is not selected, or in a project without the var, the tests
  run their own queries. No E3A failure of its own.
#}
{% macro seg3a_s6_tests_read_evaluated() -%}
    {%- set model_name = var('seg3a_s6_evaluated_model', none) -%}
    {{ return(execute and model_name is not none and flags.WHICH == 'build'
              and ('model.' ~ project_name ~ '.' ~ model_name) in selected_resources) }}
{%- endmacro %}


{#
  seg3a_s6_evaluated_rows(inline) -> SQL returning this S6 test's failing rows from
  `int_s6__checks_evaluated` when seg3a_s6_tests_read_evaluated(), else '' (the test runs
  its own query; always when rendering inline for `int_s6__check_queries`). Outside
  inline rendering it calls ref() on the model, so that dbt orders the S6 tests after it.
#}
{% macro seg3a_s6_evaluated_rows(inline) -%}
    {%- set model_name = var('seg3a_s6_evaluated_model', none) -%}
    {%- if inline or model_name is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set evaluated = ref(model_name) -%}
    {%- if seg3a_s6_tests_read_evaluated() -%}
        {{ return(
            "select issue_code, merchant_id, legal_country_iso, tzid, message, details, affected_count\nfrom "
            ~ evaluated ~ "\nwhere test_name = '" ~ this.identifier ~ "'") }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}


{#
  seg3a_s6_read_model(input) -> the select of an `int_s6__<input>_read` model: the
  published artefact (seg3a_s6_read), or, when the S6 tests read their rows from
  `int_s6__checks_evaluated`, an empty select. The read models are ephemeral and only the
  S6 tests ref them; in that case no test reads them, and dbt would otherwise render and
  inject each one (the check outcomes render every S6 test) into every test for nothing.
#}
{% macro seg3a_s6_read_model(input) -%}
    {%- if seg3a_s6_tests_read_evaluated() -%}
    select null as seg3a_not_read where false
    {%- else -%}
    {{ seg3a_s6_read(input) }}
    {%- endif -%}
{%- endmacro %}
