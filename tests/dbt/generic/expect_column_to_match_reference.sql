{#
  One issue per model row with no row of `reference` on the same keys carrying the same
  `reference_column` value (zone_alloc counts against S4: a row S4 lacks is reported
  here as well). Details `<column>=<v>,reference=<values or null>`.
#}
{% test expect_column_to_match_reference(model, keys, column, reference, reference_keys, reference_column, issue_code,
                                         message, inline=false) %}
{%- set evaluated_rows = seg3a_s6_evaluated_rows(inline) %}
{%- if evaluated_rows %}
{{ evaluated_rows }}
{%- else %}
with

reference_values as (
    select
        {{ reference_keys | join(',\n        ') }},
        list_sort(list(distinct {{ reference_column }})) as reference_values
    from {{ seg3a_s6_relation(reference, inline) }}
    group by {{ reference_keys | join(', ') }}
),

rows_compared as (
    select
        {% for key in keys %}model_rows.{{ key }},
        {% endfor -%}
        model_rows.{{ column }} as observed,
        reference_values.reference_values
    from {{ model }} as model_rows
    left join reference_values
        on {% for key in keys -%}
            model_rows.{{ key }} = reference_values.{{ reference_keys[loop.index0] }}{{ ' and ' if not loop.last }}
        {%- endfor %}
),

validation_errors as (
    {{ seg3a_s6_validation_errors(
        'rows_compared', issue_code, message,
        entity=seg3a_s6_entity_columns(keys),
        details="'" ~ column ~ "=' || coalesce(cast(observed as varchar), 'null')"
            ~ " || ',reference=' || coalesce(array_to_string(reference_values, '|'), 'null')",
        row_condition='not coalesce(list_contains(reference_values, observed), false)'
    ) }}
)

select * from validation_errors
{%- endif %}
{% endtest %}
