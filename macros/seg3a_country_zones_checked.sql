{#
  seg3a_country_zones_checked(countries, country_column, inputs_verified, code, subject,
      phase, no_zones_reason) -> the whole select of S1's `int_s1__country_zones_checked`
  and S2's `int_s2__countries_checked`: one row per distinct country of `countries`
  (column `country_column`) with its zone count |Z(c)|, ordered by country, once every
  country passed the zone-structure checks of spec 02 (§6.1 step 7 for S1, §7.1 step 5
  for S2). The first offending country (ascending) fails the query with `code`:
    unknown_country      not in iso3166_canonical_2024 (a null country too);
    `no_zones_reason`    no world_countries polygon (detail no_polygon) or an empty Z(c);
    tz_release_mismatch  the sealed tz_timetable_cache's tzdb tag differs from the
                         release recorded for the tz boundary data (`inputs_verified`).
  `subject` names the country in messages ("legal country", "prior-pack country"), and
  `phase` is the message's phase.
#}
{% macro seg3a_country_zones_checked(countries, country_column, inputs_verified, code, subject, phase,
                                     no_zones_reason) -%}
with

countries as (
    select {{ country_column }} as country_iso from {{ countries }}
),

inputs_verified as (
    select
        logical_id,
        release_tag
    from {{ inputs_verified }}
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
    select distinct country_iso
    from countries
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

country_zones_verdict as (
    select
        -- A null country is unknown too (min() would skip it).
        min(coalesce(country_iso, '<null>')) filter (where not in_iso) as unknown_country,
        min(country_iso) filter (where in_iso and not has_polygon) as country_without_polygon,
        min(country_iso) filter (where in_iso and has_polygon and zone_count_country = 0) as country_without_zones,
        count(*) filter (where not in_iso or not has_polygon or zone_count_country = 0) as countries_failing
    from countries_joined
),

country_zones_guard as (
    select
        case
            when country_zones_verdict.unknown_country is not null then error(
                '{{ code }}: {{ subject }} '
                || country_zones_verdict.unknown_country || ' is not in iso3166_canonical_2024'
                || ' | phase={{ phase }} | context=' || json_object(
                    'country_iso', country_zones_verdict.unknown_country,
                    'reason', 'unknown_country',
                    'countries_failing', country_zones_verdict.countries_failing
                )::varchar
            )
            when country_zones_verdict.country_without_polygon is not null then error(
                '{{ code }}: {{ subject }} '
                || country_zones_verdict.country_without_polygon || ' has no world_countries polygon'
                || ' | phase={{ phase }} | context=' || json_object(
                    'country_iso', country_zones_verdict.country_without_polygon,
                    'reason', '{{ no_zones_reason }}',
                    'detail', 'no_polygon',
                    'countries_failing', country_zones_verdict.countries_failing
                )::varchar
            )
            when country_zones_verdict.country_without_zones is not null then error(
                '{{ code }}: {{ subject }} '
                || country_zones_verdict.country_without_zones || ' has an empty zone universe Z(c)'
                || ' | phase={{ phase }} | context=' || json_object(
                    'country_iso', country_zones_verdict.country_without_zones,
                    'reason', '{{ no_zones_reason }}',
                    'countries_failing', country_zones_verdict.countries_failing
                )::varchar
            )
            when tz_releases.cache_release <> '' and tz_releases.boundary_release <> ''
                and tz_releases.cache_release <> tz_releases.boundary_release then error(
                '{{ code }}: tz_timetable_cache tzdb release '
                || tz_releases.cache_release || ' differs from the tz boundary release '
                || tz_releases.boundary_release
                || ' | phase={{ phase }} | context=' || json_object(
                    'country_iso', null,
                    'reason', 'tz_release_mismatch',
                    'expected_tag', tz_releases.boundary_release,
                    'actual_tag', tz_releases.cache_release
                )::varchar
            )
            else true
        end as passed
    from country_zones_verdict
    cross join tz_releases
),

-- The guard drives the join so that it is evaluated whatever the row count.
countries_checked as (
    select
        countries_joined.country_iso,
        countries_joined.zone_count_country
    from country_zones_guard
    inner join countries_joined on country_zones_guard.passed
)

select * from countries_checked
order by country_iso
{%- endmacro %}
