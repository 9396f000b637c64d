{#
  seg3a_s6_validation_errors(source, issue_code, message, entity={}, details=none,
      affected_count=none, row_condition=none, group_by=none)
  -> the final select of every S6 test: one issue row per failing row of `source` (a CTE
  or relation), shaped (issue_code, merchant_id, legal_country_iso, tzid, message,
  details, affected_count) so the issue table is built straight from the failing rows.
    entity          mapping from seg3a_s6_entity_columns (unnamed keys are null)
    details         SQL text expression with the observed values as `k=v`
    affected_count  SQL expression; 1 per row when omitted (04 §2.2)
    row_condition   keeps only the rows where it is true
    group_by        one issue per group; entity, details and affected_count are then
                    expressions over the group
  No E3A failure of its own.
#}
{% macro seg3a_s6_validation_errors(source, issue_code, message, entity={}, details=none, affected_count=none,
                                     row_condition=none, group_by=none) -%}
select
    cast('{{ issue_code }}' as varchar) as issue_code,
    cast({{ entity.get('merchant_id', 'null') }} as ubigint) as merchant_id,
    cast({{ entity.get('legal_country_iso', 'null') }} as varchar) as legal_country_iso,
    cast({{ entity.get('tzid', 'null') }} as varchar) as tzid,
    cast('{{ message }}' as varchar) as message,
    cast({{ details or 'null' }} as varchar) as details,
    cast({{ affected_count or '1' }} as bigint) as affected_count
from {{ source }}
{%- if row_condition %}
where {{ row_condition }}
{%- endif %}
{%- if group_by %}
group by {{ group_by | join(', ') }}
{%- endif %}
{%- endmacro %}
