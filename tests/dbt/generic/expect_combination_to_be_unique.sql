{#
  One issue per combination of `combination` that occurs on more than one row of the
  model (after `row_condition`), with details `rows=<n>`. S1 pairs, S2 zones, S3/S4
  triplets and RNG events per pair. Rows read in strictly increasing order of the
  combination (the datasets are written in key order) are unique without grouping: the
  grouping runs only when that streaming pass cannot prove it
  (seg3a_s6_key_order_unproven).
#}
{% test expect_combination_to_be_unique(model, combination, issue_code, message, row_condition=none, inline=false) %}
{%- set evaluated_rows = seg3a_s6_evaluated_rows(inline) %}
{%- if evaluated_rows %}
{{ evaluated_rows }}
{%- else %}
with

key_order_unproven as (
    {{ seg3a_s6_key_order_unproven(model, combination, row_condition) }}
),

rows_in_scope as (
    select {{ combination | join(', ') }}
    from {{ model }} semi join key_order_unproven on true
    {%- if row_condition %}
    where {{ row_condition }}
    {%- endif %}
),

duplicated_combinations as (
    select
        {{ combination | join(',\n        ') }},
        count(*) as row_count
    from rows_in_scope
    group by {{ combination | join(', ') }}
    having count(*) > 1
),

validation_errors as (
    {{ seg3a_s6_validation_errors(
        'duplicated_combinations', issue_code, message,
        entity=seg3a_s6_entity_columns(combination),
        details="'rows=' || row_count"
    ) }}
)

select * from validation_errors
{%- endif %}
{% endtest %}
