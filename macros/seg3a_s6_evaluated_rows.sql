{#
  seg3a_s6_evaluated_rows(inline) -> SQL returning this S6 test's failing rows as
  `int_s6__checks_evaluated` found them, or '' when the test must evaluate its own query.

  In `dbt build` the S6 model `int_s6__checks_evaluated` (the project var
  `seg3a_s6_evaluated_model`) runs every S6 test's query once, rendered from the same
  test macro, and the report, issue table and receipt are published from its rows. When
  that model is selected in the same `dbt build`, each S6 test reads its own rows from it
  instead of running its query a second time: same rows, so the same test status. In
  `dbt test`, when the model is not selected, when rendering inline for
  `int_s6__check_queries`, or in a project without the var, the test runs its query.
  Outside inline rendering the macro always calls ref() on the model, so that dbt orders
  the S6 tests after it. No E3A failure of its own.
#}
{% macro seg3a_s6_evaluated_rows(inline) -%}
    {%- set model_name = var('seg3a_s6_evaluated_model', none) -%}
    {%- if inline or not model_name -%}
        {{ return('') }}
    {%- endif -%}
    {%- set evaluated = ref(model_name) -%}
    {%- if execute and flags.WHICH == 'build'
          and ('model.' ~ project_name ~ '.' ~ model_name) in selected_resources -%}
        {{ return(
            "select issue_code, merchant_id, legal_country_iso, tzid, message, details, affected_count\nfrom "
            ~ evaluated ~ "\nwhere test_name = '" ~ this.identifier ~ "'") }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
