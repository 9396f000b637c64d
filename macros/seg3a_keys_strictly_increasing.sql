{#
  seg3a_keys_strictly_increasing(relation, keys)
  A one-row select: `keys_strictly_increasing` is true when the rows of `relation`, in the
  order one streaming pass reads them, have strictly increasing `keys` (compared
  lexicographically, no key null). Whatever that order is, such rows hold no key twice,
  so a model can skip grouping them to look for duplicates (a hash aggregate over every
  key) and group only when this is false. At most one row may fail the comparison: the
  first, which has no previous row.
#}
{% macro seg3a_keys_strictly_increasing(relation, keys) -%}
{%- set ns = namespace(after='false') -%}
{%- for key in keys | reverse -%}
{%- set ns.after = '(previous_' ~ key ~ ' < ' ~ key ~ ' or (previous_' ~ key ~ ' = ' ~ key ~ ' and ' ~ ns.after ~ '))' -%}
{%- endfor -%}
select count(*) filter (where not coalesce({{ ns.after }}, false)) <= 1 as keys_strictly_increasing
from (
    select
        {%- for key in keys %}
        {{ key }},
        lag({{ key }}) over () as previous_{{ key }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
) as key_steps
{%- endmacro %}
