{#
  One issue per model row with no row of `reference` on the same keys carrying the same
  `reference_column` value (zone_alloc counts against S4: a row S4 lacks is reported
  here as well). Details `<column>=<v>,reference=<values or null>`.
  `aligned_with_reference=true` (model and reference written in the same key order, one
  row per key): when the rows paired by position all carry equal keys and values, no row
  lacks its match, and both sides of the anti join are left empty
  (seg3a_s6_alignment_unproven); otherwise it runs as without it.
#}
{% test expect_column_to_match_reference(model, keys, column, reference, reference_keys, reference_column, issue_code,
                                         message, aligned_with_reference=false, inline=false) %}
{%- set evaluated_rows = seg3a_s6_evaluated_rows(inline) %}
{%- if evaluated_rows %}
{{ evaluated_rows }}
{%- else %}
{%- set unproven = 'semi join alignment_unproven on true' if aligned_with_reference else '' %}
with
{%- if aligned_with_reference %}

alignment_unproven as (
    {{ seg3a_s6_alignment_unproven(
        model, keys, seg3a_s6_relation(reference, inline), reference_keys,
        column=column, reference_column=reference_column) }}
),
{%- endif %}

reference_rows as (
    select
        {{ reference_keys | join(',\n        ') }},
        {{ reference_column }} as reference_value
    from {{ seg3a_s6_relation(reference, inline) }} {{ unproven }}
),

{#- A row passes when a reference row on its keys carries its value: one anti join
    finds the others, and only their keys get the list of reference values the
    details name (the list of a key is the same whichever rows ask for it). #}
rows_without_match as (
    select
        {% for key in keys %}model_rows.{{ key }},
        {% endfor -%}
        model_rows.{{ column }} as observed
    from {{ model }} as model_rows {{ unproven }}
    where not exists (
        select 1
        from reference_rows
        where {% for key in keys -%}
            model_rows.{{ key }} = reference_rows.{{ reference_keys[loop.index0] }} and
            {% endfor -%}
            model_rows.{{ column }} = reference_rows.reference_value
    )
),

reference_values as (
    select
        {{ reference_keys | join(',\n        ') }},
        list_sort(list(distinct reference_value)) as reference_values
    from reference_rows
    where exists (
        select 1
        from rows_without_match
        where {% for key in keys -%}
            rows_without_match.{{ key }} = reference_rows.{{ reference_keys[loop.index0] }}{{ ' and ' if not loop.last }}
        {%- endfor %}
    )
    group by {{ reference_keys | join(', ') }}
),

rows_compared as (
    select
        rows_without_match.*,
        reference_values.reference_values
    from rows_without_match
    left join reference_values
        on {% for key in keys -%}
            rows_without_match.{{ key }} = reference_values.{{ reference_keys[loop.index0] }}{{ ' and ' if not loop.last }}
        {%- endfor %}
),

validation_errors as (
    {{ seg3a_s6_validation_errors(
        'rows_compared', issue_code, message,
        entity=seg3a_s6_entity_columns(keys),
        details="'" ~ column ~ "=' || coalesce(cast(observed as varchar), 'null')"
            ~ " || ',reference=' || coalesce(array_to_string(reference_values, '|'), 'null')"
    ) }}
)

select * from validation_errors
{%- endif %}
{% endtest %}
