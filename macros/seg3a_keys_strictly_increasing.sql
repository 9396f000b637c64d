{#
  seg3a_keys_strictly_increasing(relation, keys, row_condition=none)
  A one-row select: `keys_strictly_increasing` is true when the rows of `relation` (after
  `row_condition`), in the order one streaming pass reads them, have strictly increasing
  `keys` (compared lexicographically). Whatever that order is, such rows hold no key
  twice, so a model or test can skip grouping them to look for duplicates (a hash
  aggregate over every key) and group only when this is false. A null compared counts
  as a break (null keys fall to the grouping, which groups them as equal), and so does
  the first row (it has no previous one): at most one row may fail the comparison.
  S5's domain check and S6's uniqueness tests (seg3a_s6_key_order_unproven) use it.
#}
{% macro seg3a_keys_strictly_increasing(relation, keys, row_condition=none) -%}
    {%- set ns = namespace(after=none) -%}
    {%- for key in keys | reverse -%}
        {%- set previous = 'previous_' ~ (keys | length - loop.index) -%}
        {%- if ns.after is none -%}
            {%- set ns.after = key ~ ' > ' ~ previous -%}
        {%- else -%}
            {%- set ns.after = key ~ ' > ' ~ previous ~ ' or (' ~ key ~ ' = ' ~ previous ~ ' and ('
                ~ ns.after ~ '))' -%}
        {%- endif -%}
    {%- endfor -%}
select count(*) filter (where ({{ ns.after }}) is not true) <= 1 as keys_strictly_increasing
from (
    select
        {%- for key in keys %}
        {{ key }},
        lag({{ key }}) over () as previous_{{ loop.index0 }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
    {%- if row_condition %}
    where {{ row_condition }}
    {%- endif %}
) as key_steps
{%- endmacro %}
