{#
  Cheap proofs that an S6 test has no failing row, each a select that returns one row
  when it could NOT prove it. A test puts the proof in a CTE and semi joins the inputs
  of its costly steps with it (`semi join <cte> on true`): when the proof holds, those
  inputs are empty, DuckDB skips their scans, joins and groupings, and the test returns
  no row, exactly as its full query would; otherwise the full query runs on every row
  and finds the failing rows as before. Both proofs are one streaming pass over the
  rows as read, and are sound whatever order DuckDB reads them in: the order only
  decides whether a proof succeeds. No E3A failure of their own.
#}

{#
  seg3a_s6_key_order_unproven(relation, columns, row_condition=none): the rows (after
  `row_condition`) are not read in strictly increasing order of `columns`
  (seg3a_keys_strictly_increasing). Strictly increasing rows hold every combination once
  (the S3/S4 files are written in key order), so uniqueness needs no grouping.
#}
{% macro seg3a_s6_key_order_unproven(relation, columns, row_condition=none) -%}
select 1
from (
    {{ seg3a_keys_strictly_increasing(relation, columns, row_condition) }}
) as key_order
where not keys_strictly_increasing
{%- endmacro %}

{#
  seg3a_s6_alignment_unproven(model, keys, reference, reference_keys, row_condition=none,
      reference_condition=none, column=none, reference_column=none, key_runs=false): the
  rows of `model` (after `row_condition`) and of `reference` (after
  `reference_condition`), paired by position, are not all pairs whose keys are equal
  (and, with `column`, whose `column` equals `reference_column`). When they all are,
  every model row has a reference row with its keys (and value): zone_alloc and S4 are
  written in the same key order, one row per triplet each. A null compared, or a row
  left without partner (the two sides differ in length), is a pair that is not equal.
  With `key_runs=true` each side keeps only the first row of each run of rows with
  equal keys (a row whose keys are not all equal to the previous row's), so that the
  pairs of S3/S4 (one run of rows per pair, in pair order) align with S1's escalated
  pairs; a dropped row's keys are those of a kept row, so the proof still covers it.
#}
{% macro seg3a_s6_alignment_unproven(model, keys, reference, reference_keys, row_condition=none,
                                     reference_condition=none, column=none, reference_column=none,
                                     key_runs=false) -%}
    {%- set equal = [] -%}
    {%- for key in keys -%}
        {%- do equal.append('aligned_model.' ~ key ~ ' = aligned_reference.' ~ reference_keys[loop.index0]) -%}
    {%- endfor -%}
    {%- if column -%}
        {%- do equal.append('aligned_model.' ~ column ~ ' = aligned_reference.' ~ reference_column) -%}
    {%- endif -%}
select 1
from (
    {{ seg3a_s6_aligned_side(model, keys + ([column] if column else []), keys, row_condition, key_runs) }}
) as aligned_model
positional join (
    {{ seg3a_s6_aligned_side(reference, reference_keys + ([reference_column] if reference_column else []),
                             reference_keys, reference_condition, key_runs) }}
) as aligned_reference
having count(*) filter (where ({{ equal | join(' and ') }}) is not true) > 0
{%- endmacro %}


{#- One side of seg3a_s6_alignment_unproven: `columns` of `relation` after `condition`,
    with key_runs only the first row of each run of equal `keys`. #}
{% macro seg3a_s6_aligned_side(relation, columns, keys, condition, key_runs) -%}
    {%- if key_runs %}
    select {{ columns | unique | join(', ') }}
    from (
        select
            {{ columns | unique | join(', ') }},
            {%- for key in keys %}
            lag({{ key }}) over () as previous_{{ loop.index0 }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ relation }}
        {%- if condition %}
        where {{ condition }}
        {%- endif %}
    ) as rows_with_previous
    where ({% for key in keys %}{{ key }} = previous_{{ loop.index0 }}{{ ' and ' if not loop.last }}{% endfor %}) is not true
    {%- else %}
    select {{ columns | unique | join(', ') }}
    from {{ relation }}
    {%- if condition %}
    where {{ condition }}
    {%- endif %}
    {%- endif %}
{%- endmacro %}
