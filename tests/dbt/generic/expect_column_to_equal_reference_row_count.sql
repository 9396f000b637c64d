{#
  For each model row whose `keys` have rows in `reference`, `column` must equal the
  number of those rows (S1 site_count against the outlets of the pair in
  outlet_catalogue). A null `column` differs from any count. Details
  `<column>=<v>,reference_rows=<n>`.
#}
{% test expect_column_to_equal_reference_row_count(model, column, keys, reference, reference_keys, issue_code,
                                                   message, inline=false) %}
{%- set evaluated_rows = seg3a_s6_evaluated_rows(inline) %}
{%- if evaluated_rows %}
{{ evaluated_rows }}
{%- else %}
with

reference_counts as (
    select
        {{ reference_keys | join(',\n        ') }},
        count(*) as reference_rows
    from {{ seg3a_s6_relation(reference, inline) }}
    group by {{ reference_keys | join(', ') }}
),

rows_compared as (
    select
        {% for key in keys %}model_rows.{{ key }},
        {% endfor -%}
        model_rows.{{ column }} as observed,
        reference_counts.reference_rows
    from {{ model }} as model_rows
    inner join reference_counts
        on {% for key in keys -%}
            model_rows.{{ key }} = reference_counts.{{ reference_keys[loop.index0] }}{{ ' and ' if not loop.last }}
        {%- endfor %}
),

validation_errors as (
    {{ seg3a_s6_validation_errors(
        'rows_compared', issue_code, message,
        entity=seg3a_s6_entity_columns(keys),
        details="'" ~ column ~ "=' || coalesce(cast(observed as varchar), 'null')"
            ~ " || ',reference_rows=' || reference_rows",
        row_condition='observed is distinct from reference_rows'
    ) }}
)

select * from validation_errors
{%- endif %}
{% endtest %}
