{#
  One issue per value of `values` that no row of the model carries in `column` (the four
  policies of the sealed policy set). Details `<column>=<value>`.
#}
{% test expect_values_to_be_present(model, column, values, issue_code, message, inline=false) %}
{%- set evaluated_rows = seg3a_s6_evaluated_rows(inline) %}
{%- if evaluated_rows %}
{{ evaluated_rows }}
{%- else %}
with

required_values as (
    select unnest([{% for value in values %}'{{ value }}'{{ ', ' if not loop.last }}{% endfor %}]) as required_value
),

absent_values as (
    select required_value
    from required_values
    where required_value not in (select {{ column }} from {{ model }} where {{ column }} is not null)
),

validation_errors as (
    {{ seg3a_s6_validation_errors(
        'absent_values', issue_code, message, details="'" ~ column ~ "=' || required_value"
    ) }}
)

select * from validation_errors
{%- endif %}
{% endtest %}
