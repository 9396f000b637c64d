{{ config(materialized='table') }}
-- Z(c) (spec 02 §1): one row per country and member tzid. The membership rule
-- and its measures live in zone_universe_candidates; this model only publishes
-- the kept pairs, so S1, S2 and the authoring tools read one authority.
select
    country_iso,
    tzid,
    overlap_km2,
    share_of_country,
    share_of_zone_land,
    keep_reason
from {{ ref('zone_universe_candidates') }}
where kept
order by country_iso, tzid
