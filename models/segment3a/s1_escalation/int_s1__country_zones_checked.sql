{{ config(materialized='seg3a_table', meta={'seg3a_phase': 'zone_structure'}) }}
-- One row per legal country with outlets (C_out) and its zone count |Z(c)| from the
-- zone universe (spec 02 §6.1 step 7). A country outside iso3166, without a polygon or
-- with an empty Z(c), or a sealed tz cache whose tzdb tag differs from the boundary
-- data's recorded release, is E3A_S1_006 (the first offending country, ascending).
with

site_counts as (
    select legal_country_iso from {{ ref('int_s1__site_counts_aggregated') }}
),

inputs_verified as (
    select
        logical_id,
        release_tag
    from {{ ref('int_s1__inputs_verified') }}
),

stg_ref__iso3166 as (
    select country_iso from {{ ref('stg_ref__iso3166') }}
),

stg_ref__world_countries as (
    select
        country_iso,
        geom
    from {{ ref('stg_ref__world_countries') }}
),

zone_count_country as (
    select
        country_iso,
        zone_count_country
    from {{ ref('zone_count_country') }}
),

countries_in_scope as (
    select distinct legal_country_iso as country_iso
    from site_counts
),

countries_with_polygon as (
    select distinct country_iso
    from stg_ref__world_countries
    where geom is not null and not st_isempty(geom)
),

countries_joined as (
    select
        countries_in_scope.country_iso,
        stg_ref__iso3166.country_iso is not null as in_iso,
        countries_with_polygon.country_iso is not null as has_polygon,
        coalesce(zone_count_country.zone_count_country, 0)::bigint as zone_count_country
    from countries_in_scope
    left join stg_ref__iso3166
        on countries_in_scope.country_iso = stg_ref__iso3166.country_iso
    left join countries_with_polygon
        on countries_in_scope.country_iso = countries_with_polygon.country_iso
    left join zone_count_country
        on countries_in_scope.country_iso = zone_count_country.country_iso
),

tz_releases as (
    select
        coalesce(max(release_tag) filter (where logical_id = 'tz_world_2025a'), '') as boundary_release,
        coalesce(max(release_tag) filter (where logical_id = 'tz_timetable_cache'), '') as cache_release
    from inputs_verified
),

zone_structure_verdict as (
    select
        -- A null country is unknown too (min() would skip it).
        min(coalesce(country_iso, '<null>')) filter (where not in_iso) as unknown_country,
        min(country_iso) filter (where in_iso and not has_polygon) as country_without_polygon,
        min(country_iso) filter (where in_iso and has_polygon and zone_count_country = 0) as country_without_zones,
        count(*) filter (where not in_iso or not has_polygon or zone_count_country = 0) as countries_failing
    from countries_joined
),

zone_structure_guard as (
    select
        case
            when zone_structure_verdict.unknown_country is not null then error(
                'E3A_S1_006_ZONE_STRUCTURE_INCONSISTENT: legal country '
                || zone_structure_verdict.unknown_country || ' is not in iso3166_canonical_2024'
                || ' | phase=zone_structure | context=' || json_object(
                    'country_iso', zone_structure_verdict.unknown_country,
                    'reason', 'unknown_country',
                    'countries_failing', zone_structure_verdict.countries_failing
                )::varchar
            )
            when zone_structure_verdict.country_without_polygon is not null then error(
                'E3A_S1_006_ZONE_STRUCTURE_INCONSISTENT: legal country '
                || zone_structure_verdict.country_without_polygon || ' has no world_countries polygon'
                || ' | phase=zone_structure | context=' || json_object(
                    'country_iso', zone_structure_verdict.country_without_polygon,
                    'reason', 'no_zones_defined',
                    'detail', 'no_polygon',
                    'countries_failing', zone_structure_verdict.countries_failing
                )::varchar
            )
            when zone_structure_verdict.country_without_zones is not null then error(
                'E3A_S1_006_ZONE_STRUCTURE_INCONSISTENT: legal country '
                || zone_structure_verdict.country_without_zones || ' has an empty zone universe Z(c)'
                || ' | phase=zone_structure | context=' || json_object(
                    'country_iso', zone_structure_verdict.country_without_zones,
                    'reason', 'no_zones_defined',
                    'countries_failing', zone_structure_verdict.countries_failing
                )::varchar
            )
            when tz_releases.cache_release <> '' and tz_releases.boundary_release <> ''
                and tz_releases.cache_release <> tz_releases.boundary_release then error(
                'E3A_S1_006_ZONE_STRUCTURE_INCONSISTENT: tz_timetable_cache tzdb release '
                || tz_releases.cache_release || ' differs from the tz boundary release '
                || tz_releases.boundary_release
                || ' | phase=zone_structure | context=' || json_object(
                    'country_iso', null,
                    'reason', 'tz_release_mismatch',
                    'expected_tag', tz_releases.boundary_release,
                    'actual_tag', tz_releases.cache_release
                )::varchar
            )
            else true
        end as passed
    from zone_structure_verdict
    cross join tz_releases
),

-- The guard drives the join so that it is evaluated whatever the row count.
countries_checked as (
    select
        countries_joined.country_iso,
        countries_joined.zone_count_country
    from zone_structure_guard
    inner join countries_joined on zone_structure_guard.passed
)

select * from countries_checked
order by country_iso
