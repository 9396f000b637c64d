{#
  Keys of the model (after `row_condition`) with no row of `reference` (after
  `reference_condition`) carrying the same values in `reference_keys`. One issue per
  distinct key, or per model row with `per_row=true` (S1_EXTRA_PAIR counts rows).
  Details `<key>=<value>,...,rows=<model rows with that key>`.
  Missing/extra pairs and triplets, tzids outside Z(c), RNG events without a pair.
  `entity_keys` (default `keys`) are the model columns an issue names, e.g. the whole
  triplet when only (country, tzid) is looked up.
  `aligned_with_reference=true` (model and reference written in the same key order, one
  row per key, as zone_alloc and S4): when the rows paired by position all carry equal
  keys, no key lacks a reference, and both sides of the anti join are left empty
  (seg3a_s6_alignment_unproven); otherwise it runs as without it.
  `aligned_with_reference='key_runs'`: the same with each side's runs of rows with equal
  keys taken as one row (S3/S4 rows, one run per pair, against S1's escalated pairs).
#}
{% test expect_keys_to_exist_in(model, keys, reference, reference_keys, issue_code, message, row_condition=none,
                                reference_condition=none, per_row=false, entity_keys=none,
                                aligned_with_reference=false, inline=false) %}
{%- set evaluated_rows = seg3a_s6_evaluated_rows(inline) %}
{%- if evaluated_rows %}
{{ evaluated_rows }}
{%- else %}
{%- set entity_keys = entity_keys or keys %}
{%- set unproven = 'semi join alignment_unproven on true' if aligned_with_reference else '' %}
with
{%- if aligned_with_reference %}

alignment_unproven as (
    {{ seg3a_s6_alignment_unproven(
        model, keys, seg3a_s6_relation(reference, inline), reference_keys,
        row_condition=row_condition, reference_condition=reference_condition,
        key_runs=aligned_with_reference == 'key_runs') }}
),
{%- endif %}

reference_keys as (
    select {{ reference_keys | join(', ') }}
    from {{ seg3a_s6_relation(reference, inline) }} {{ unproven }}
    {%- if reference_condition %}
    where {{ reference_condition }}
    {%- endif %}
),

{#- The rows without a reference are found first (one anti join, duplicates on either
    side cost nothing) and only they are grouped: every row of a key shares its verdict,
    so the count per key is the same as grouping all rows first. #}
keys_without_reference as (
    select
        {{ (entity_keys + keys) | unique | join(',\n        ') }},
        {{ '1' if per_row else 'count(*)' }} as row_count
    from {{ model }} as model_rows {{ unproven }}
    where not exists (
        select 1
        from reference_keys
        where {% for key in keys -%}
            model_rows.{{ key }} = reference_keys.{{ reference_keys[loop.index0] }}{{ ' and ' if not loop.last }}
        {%- endfor %}
    )
    {%- if row_condition %}
        and ({{ row_condition }})
    {%- endif %}
    {%- if not per_row %}
    group by {{ (entity_keys + keys) | unique | join(', ') }}
    {%- endif %}
),

validation_errors as (
    {%- set looked_up = [] %}
    {%- for key in keys %}
        {%- do looked_up.append("'" ~ key ~ "=' || coalesce(cast(" ~ key ~ " as varchar), 'null')") %}
    {%- endfor %}
    {{ seg3a_s6_validation_errors(
        'keys_without_reference', issue_code, message, entity=seg3a_s6_entity_columns(entity_keys),
        details=looked_up | join(" || ',' || ") ~ " || ',rows=' || row_count"
    ) }}
)

select * from validation_errors
{%- endif %}
{% endtest %}
