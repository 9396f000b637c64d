{#
  Count conservation per pair (04 §2.2, S4 and S5): one issue per group of the model
  that is not an escalated pair of `escalation`, or whose Σ `count_column` differs from
  `sum_column` on its first row, or whose sum differs from the pair's S1 site_count.
  With `site_count_column` (zone_alloc), the first row's site_count must equal that sum
  and the S1 site_count too. Details carry the observed values.
#}
{% test expect_zone_counts_to_sum_to_site_count(model, group_by, count_column, sum_column, order_by, escalation,
                                                escalation_keys, escalation_condition, issue_code, message,
                                                site_count_column=none, inline=false) %}
{%- set evaluated_rows = seg3a_s6_evaluated_rows(inline) %}
{%- if evaluated_rows %}
{{ evaluated_rows }}
{%- else %}
with

pair_totals as (
    select
        {{ group_by | join(',\n        ') }},
        sum({{ count_column }}) as zone_total,
        first({{ sum_column }} order by {{ order_by | join(', ') }}) as first_sum,
        {%- if site_count_column %}
        first({{ site_count_column }} order by {{ order_by | join(', ') }}) as first_site_count
        {%- else %}
        first({{ sum_column }} order by {{ order_by | join(', ') }}) as first_site_count
        {%- endif %}
    from {{ model }}
    group by {{ group_by | join(', ') }}
),

escalated_pairs as (
    select
        {{ escalation_keys | join(',\n        ') }},
        min(site_count) as s1_site_count
    from {{ seg3a_s6_relation(escalation, inline) }}
    where {{ escalation_condition }}
    group by {{ escalation_keys | join(', ') }}
),

pairs_compared as (
    select
        pair_totals.*,
        escalated_pairs.s1_site_count,
        escalated_pairs.{{ escalation_keys[0] }} is not null as is_escalated_pair
    from pair_totals
    left join escalated_pairs
        on {% for key in group_by -%}
            pair_totals.{{ key }} = escalated_pairs.{{ escalation_keys[loop.index0] }}{{ ' and ' if not loop.last }}
        {%- endfor %}
),

validation_errors as (
    {{ seg3a_s6_validation_errors(
        'pairs_compared', issue_code, message,
        entity=seg3a_s6_entity_columns(group_by),
        details="'escalated=' || is_escalated_pair || ',zone_total=' || coalesce(cast(zone_total as varchar), 'null')"
            ~ " || ',first_sum=' || coalesce(cast(first_sum as varchar), 'null')"
            ~ (" || ',site_count=' || coalesce(cast(first_site_count as varchar), 'null')" if site_count_column else "")
            ~ " || ',s1_site_count=' || coalesce(cast(s1_site_count as varchar), 'null')",
        row_condition="not is_escalated_pair or zone_total is distinct from first_sum"
            ~ " or first_sum is distinct from first_site_count or first_site_count is distinct from s1_site_count"
    ) }}
)

select * from validation_errors
{%- endif %}
{% endtest %}
