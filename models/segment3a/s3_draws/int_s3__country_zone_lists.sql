{{ config(materialized='seg3a_table', meta={'seg3a_phase': 'sampling'}) }}
-- One row: every country's S2 tzids in ascending order (the order its shares are drawn
-- in), as one map from country_iso. s3_zone_shares takes each pair's tzids from it
-- instead of int_s3__draws storing a copy of the country's list on every pair (at 1M
-- pairs about half of that table's sort and write). A stored one-row table, so that
-- the view's cross join with it keeps the draws' stored pair order, which a hash join
-- on the country would not.
with

s2_country_zone_priors as (
    select
        country_iso,
        tzid
    from {{ ref('s2_country_zone_priors') }}
),

country_zones_listed as (
    {{ seg3a_country_tzids_listed('s2_country_zone_priors') }}
),

zone_lists_mapped as (
    select map(list(country_iso order by country_iso), list(tzids order by country_iso)) as tzids_by_country
    from country_zones_listed
)

select * from zone_lists_mapped
