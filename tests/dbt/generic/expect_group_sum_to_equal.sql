{#
  One issue per group whose compensated sum `csum` of `sum_column` (in `order_by` order,
  spec 03 §0) is not within `tolerance` of `expected`, or is not finite. `expected` is an
  aggregate expression over the group, e.g. `first(alpha_sum_country order by tzid)`
  (the group's first row in writer sort) or `1.0`. Details `sum=<s>,expected=<e>`.
#}
{% test expect_group_sum_to_equal(model, group_by, sum_column, order_by, expected, tolerance, issue_code, message,
                                  inline=false) %}
{%- set evaluated_rows = seg3a_s6_evaluated_rows(inline) %}
{%- if evaluated_rows %}
{{ evaluated_rows }}
{%- else %}
with

group_sums as (
    select
        {{ group_by | join(',\n        ') }},
        {{ seg3a_csum(
            'list(cast(' ~ sum_column ~ ' as double) order by ' ~ order_by | join(', ') ~ ')'
        ) }} as group_sum,
        cast({{ expected }} as double) as expected_sum
    from {{ model }}
    group by {{ group_by | join(', ') }}
),

validation_errors as (
    {{ seg3a_s6_validation_errors(
        'group_sums', issue_code, message,
        entity=seg3a_s6_entity_columns(group_by),
        details="'sum=' || coalesce(cast(group_sum as varchar), 'null')"
            ~ " || ',expected=' || coalesce(cast(expected_sum as varchar), 'null')",
        row_condition='not coalesce(isfinite(group_sum) and isfinite(expected_sum)'
            ~ ' and abs(group_sum - expected_sum) <= ' ~ tolerance ~ ', false)'
    ) }}
)

select * from validation_errors
{%- endif %}
{% endtest %}
