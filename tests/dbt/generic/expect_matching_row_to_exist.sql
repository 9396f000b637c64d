{#
  One issue when no row of the model satisfies `condition` (the RNG audit row of this
  run identity). Details `rows=<n>` (rows of the model).
#}
{% test expect_matching_row_to_exist(model, condition, issue_code, message, inline=false) %}
{%- set evaluated_rows = seg3a_s6_evaluated_rows(inline) %}
{%- if evaluated_rows %}
{{ evaluated_rows }}
{%- else %}
with

matches as (
    select
        count(*) as row_count,
        count(*) filter (where {{ condition }}) as matching_rows
    from {{ model }}
),

validation_errors as (
    {{ seg3a_s6_validation_errors(
        'matches', issue_code, message, details="'rows=' || row_count", row_condition='matching_rows = 0'
    ) }}
)

select * from validation_errors
{%- endif %}
{% endtest %}
