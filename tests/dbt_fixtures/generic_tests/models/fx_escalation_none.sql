with

escalation_rows as (
    select * from {{ ref('fx_escalation') }}
)

select
    merchant_id,
    legal_country_iso,
    site_count,
    false as is_escalated
from escalation_rows
