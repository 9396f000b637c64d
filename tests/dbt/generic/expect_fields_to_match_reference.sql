{#
  The model and `reference` each hold one row; one issue per field of `fields` whose
  values differ (the stored universe-hash components against their recomputation).
  Details `field=<f>,stored=<v>,recomputed=<w>`.
#}
{% test expect_fields_to_match_reference(model, fields, reference, issue_code, message, inline=false) %}
{%- set evaluated_rows = seg3a_s6_evaluated_rows(inline) %}
{%- if evaluated_rows %}
{{ evaluated_rows }}
{%- else %}
with

stored as (
    select * from {{ model }}
),

recomputed as (
    select * from {{ seg3a_s6_relation(reference, inline) }}
),

fields_compared as (
    {%- for field in fields %}
    select
        '{{ field }}' as field,
        cast(stored.{{ field }} as varchar) as stored_value,
        cast(recomputed.{{ field }} as varchar) as recomputed_value
    from stored
    full outer join recomputed
        on true
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

validation_errors as (
    {{ seg3a_s6_validation_errors(
        'fields_compared', issue_code, message,
        details="'field=' || field || ',stored=' || coalesce(stored_value, 'null')"
            ~ " || ',recomputed=' || coalesce(recomputed_value, 'null')",
        row_condition='stored_value is distinct from recomputed_value'
    ) }}
)

select * from validation_errors
{%- endif %}
{% endtest %}
