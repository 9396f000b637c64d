{#
  Rows of the model (after `row_condition`) where `expression` is not true (false or
  null) are issues. Without `group_by`: one issue per row, keyed by `keys`. With
  `group_by`: one issue per group, whose affected count is its number of rows (S2's
  alpha_sum_country rule). `details` is an SQL text expression over the row (or group).
#}
{% test expect_row_condition_to_hold(model, expression, issue_code, message, keys=[], details=none, group_by=none,
                                     row_condition=none, inline=false) %}
{%- set evaluated_rows = seg3a_s6_evaluated_rows(inline) %}
{%- if evaluated_rows %}
{{ evaluated_rows }}
{%- else %}
with

failing_rows as (
    select *
    from {{ model }}
    where not coalesce({{ expression }}, false)
    {%- if row_condition %}
        and ({{ row_condition }})
    {%- endif %}
),

validation_errors as (
    {%- if group_by %}
    {{ seg3a_s6_validation_errors(
        'failing_rows', issue_code, message,
        entity=seg3a_s6_entity_columns(group_by),
        details=details, affected_count='count(*)', group_by=group_by
    ) }}
    {%- else %}
    {{ seg3a_s6_validation_errors(
        'failing_rows', issue_code, message,
        entity=seg3a_s6_entity_columns(keys), details=details
    ) }}
    {%- endif %}
)

select * from validation_errors
{%- endif %}
{% endtest %}
