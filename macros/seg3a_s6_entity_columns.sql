{#
  seg3a_s6_entity_columns(columns, relation=none) -> mapping of the issue table's entity
  keys (merchant_id, legal_country_iso, tzid) to expressions over `columns`, the key
  columns a test names: `merchant_id`, `legal_country_iso` or `country_iso` (S2 and RNG
  events key the country so), `tzid`; keys a test does not name map to `null`.
  `relation` qualifies the columns. No E3A failure of its own.
#}
{% macro seg3a_s6_entity_columns(columns, relation=none) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    {%- set columns = columns or [] -%}
    {%- set country = 'legal_country_iso' if 'legal_country_iso' in columns
        else ('country_iso' if 'country_iso' in columns else none) -%}
    {{ return({
        'merchant_id': prefix ~ 'merchant_id' if 'merchant_id' in columns else 'null',
        'legal_country_iso': prefix ~ country if country else 'null',
        'tzid': prefix ~ 'tzid' if 'tzid' in columns else 'null',
    }) }}
{%- endmacro %}
