{#
  One issue per model row (after `row_condition`) whose `column` is distinct from
  `expected`, an SQL expression evaluated once, over the one-row `expected_from` model
  when given (a missing expected value never matches). Gate identity and statuses,
  the stored and per-row routing universe hash. Details default to
  `<column>=<v>,expected=<e>`.
#}
{% test expect_column_to_equal(model, column, expected, issue_code, message, keys=[], details=none, expected_from=none,
                               row_condition=none, inline=false) %}
{%- set evaluated_rows = seg3a_s6_evaluated_rows(inline) %}
{%- if evaluated_rows %}
{{ evaluated_rows }}
{%- else %}
with

expected_values as (
    select cast({{ expected }} as varchar) as expected_value
    {%- if expected_from %}
    from {{ seg3a_s6_relation(expected_from, inline) }}
    {%- endif %}
),

rows_compared as (
    select
        model_rows.*,
        expected_values.expected_value
    from {{ model }} as model_rows
    left join expected_values
        on true
    {%- if row_condition %}
    where {{ row_condition }}
    {%- endif %}
),

validation_errors as (
    {{ seg3a_s6_validation_errors(
        'rows_compared', issue_code, message,
        entity=seg3a_s6_entity_columns(keys),
        details=details or ("'" ~ column ~ "=' || coalesce(cast(" ~ column ~ " as varchar), 'null')"
            ~ " || ',expected=' || coalesce(expected_value, 'null')"),
        row_condition='cast(' ~ column ~ ' as varchar) is distinct from expected_value'
    ) }}
)

select * from validation_errors
{%- endif %}
{% endtest %}
