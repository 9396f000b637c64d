-- Z(c) fidelity against IANA zone.tab (spec 06, ground truth 1): precision and recall of
-- (country, tzid) pairs over the countries present in both, names as written. The
-- per-pair disagreements with reasons are listed by `seg3a zones evaluate`. Outside the
-- segment3a selection (it reads the zone.tab seed): run it with
--   dbt build --select iana_zone_tab zone_universe_evaluation
{{ config(materialized='table', tags=['zone_universe']) }}

with zone_universe as (
    select country_iso, tzid from {{ ref('zone_universe') }}
),

iana_zone_tab as (
    select country_iso, tzid from {{ ref('iana_zone_tab') }}
),

countries_in_both as (
    select distinct zone_universe.country_iso
    from zone_universe
    inner join (select distinct country_iso from iana_zone_tab) as iana_countries
        on zone_universe.country_iso = iana_countries.country_iso
),

predicted_pairs as (
    select zone_universe.country_iso, zone_universe.tzid
    from zone_universe
    inner join countries_in_both
        on zone_universe.country_iso = countries_in_both.country_iso
),

true_pairs as (
    select iana_zone_tab.country_iso, iana_zone_tab.tzid
    from iana_zone_tab
    inner join countries_in_both
        on iana_zone_tab.country_iso = countries_in_both.country_iso
),

pair_counts as (
    select
        (select count(*) from predicted_pairs) as predicted_pairs,
        (select count(*) from true_pairs) as true_pairs,
        (
            select count(*)
            from predicted_pairs
            inner join true_pairs
                on predicted_pairs.country_iso = true_pairs.country_iso
                and predicted_pairs.tzid = true_pairs.tzid
        ) as matched_pairs,
        (select count(*) from countries_in_both) as countries_scored
)

select
    countries_scored,
    predicted_pairs,
    true_pairs,
    matched_pairs,
    matched_pairs / predicted_pairs as zone_universe_precision,
    matched_pairs / true_pairs as zone_universe_recall
from pair_counts
