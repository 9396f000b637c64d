{{ config(materialized='table') }}
-- zone_count_country(c) = |Z(c)| (spec 02 §1 step 5), counted from zone_universe only.
select
    country_iso,
    count(*) as zone_count_country
from {{ ref('zone_universe') }}
group by country_iso
order by country_iso
