{#
  One issue per group whose compensated sum `csum` of `sum_column` (in `order_by` order,
  spec 03 §0) is not within `tolerance` of `expected`, or is not finite. `expected` is an
  aggregate expression over the group, e.g. `first(alpha_sum_country order by tzid)`
  (the group's first row in writer sort) or `1.0`. Details `sum=<s>,expected=<e>`.

  csum needs the group's values as an ordered list, an aggregate DuckDB cannot spill to
  disk (a 1M-pair world has 1M share groups). So the groups are screened first with
  aggregates that spill: a group whose plain sum is within `tolerance` of `expected` by
  more than the rounding bound of both sums is certain to pass, because plain summation
  in any order and csum are both within (n + 3) * u * sum(|x|) of the exact sum
  (u = 2^-53, n values; Higham, Accuracy and Stability, §4.2-4.3); the margin below is
  twice that, on sum(|x|) + |expected|. Every other group (non-finite or null values,
  near or over the tolerance) gets csum over its ordered list exactly as before, so
  the issue rows are the same.
#}
{% test expect_group_sum_to_equal(model, group_by, sum_column, order_by, expected, tolerance, issue_code, message,
                                  inline=false) %}
{%- set evaluated_rows = seg3a_s6_evaluated_rows(inline) %}
{%- if evaluated_rows %}
{{ evaluated_rows }}
{%- else %}
with

{%- set value = 'cast(' ~ sum_column ~ ' as double)' %}
group_bounds as (
    select
        {{ group_by | join(',\n        ') }},
        count(*) as value_count,
        count({{ value }}) as non_null_count,
        bool_and(isfinite({{ value }})) as all_finite,
        sum({{ value }}) as plain_sum,
        sum(abs({{ value }})) as abs_sum,
        cast({{ expected }} as double) as expected_sum
    from {{ model }}
    group by {{ group_by | join(', ') }}
),

groups_to_sum as (
    select {{ group_by | join(', ') }}
    from group_bounds
    where not coalesce(
        non_null_count = value_count
        and all_finite
        and isfinite(plain_sum) and isfinite(abs_sum) and isfinite(expected_sum)
        and abs(plain_sum - expected_sum)
            + 2.0 * (value_count + 3) * pow(2.0, -53) * (abs_sum + abs(expected_sum))
            <= {{ tolerance }},
        false
    )
),

group_sums as (
    select
        {% for column in group_by -%}
        model_rows.{{ column }},
        {% endfor -%}
        {{ seg3a_csum(
            'list(cast(model_rows.' ~ sum_column ~ ' as double) order by '
            ~ ('model_rows.' ~ order_by | join(', model_rows.'))
            ~ ')'
        ) }} as group_sum,
        cast({{ expected }} as double) as expected_sum
    from {{ model }} as model_rows
    semi join groups_to_sum
        on {% for column in group_by -%}
        {{ 'and ' if not loop.first }}model_rows.{{ column }} is not distinct from groups_to_sum.{{ column }}
        {% endfor %}
    group by {% for column in group_by %}model_rows.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
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
