{{ config(materialized='seg3a_table', meta={'seg3a_phase': 'domain_check'}) }}
-- One row per (country_iso, tzid) with c in C_priors and z in Z(c), carrying the pack's
-- raw alpha (spec 02 §7.1 steps 6-7). Strict both ways, checked in this order:
--   a tzid listed twice for a country          E3A_S2_004 (step 6)
--   a pack tzid outside Z(c)                   E3A_S2_005 unmappable_tzid (first country, first tzid)
--   a Z(c) tzid missing from the pack          E3A_S2_007 with counts and a sample
with

prior_alphas as (
    select
        country_iso,
        tzid,
        alpha_raw,
        list_position
    from {{ ref('int_s2__prior_alphas_unnested') }}
),

countries_checked as (
    select country_iso from {{ ref('int_s2__countries_checked') }}
),

zone_universe as (
    select
        country_iso,
        tzid
    from {{ ref('zone_universe') }}
),

universe_of_pack_countries as (
    select
        zone_universe.country_iso,
        zone_universe.tzid
    from zone_universe
    inner join countries_checked
        on zone_universe.country_iso = countries_checked.country_iso
),

pack_zones_counted as (
    select
        country_iso,
        tzid,
        count(*) as times_listed
    from prior_alphas
    group by country_iso, tzid
),

zones_compared as (
    select
        coalesce(pack_zones_counted.country_iso, universe_of_pack_countries.country_iso) as country_iso,
        coalesce(pack_zones_counted.tzid, universe_of_pack_countries.tzid) as tzid,
        pack_zones_counted.times_listed,
        pack_zones_counted.country_iso is not null as in_pack,
        universe_of_pack_countries.country_iso is not null as in_universe
    from pack_zones_counted
    full outer join universe_of_pack_countries
        on pack_zones_counted.country_iso = universe_of_pack_countries.country_iso
        and pack_zones_counted.tzid = universe_of_pack_countries.tzid
),

reconciliation_verdict as (
    select
        min({'country_iso': country_iso, 'tzid': tzid}) filter (where times_listed > 1) as first_duplicate,
        count(*) filter (where times_listed > 1) as duplicate_count,
        min({'country_iso': country_iso, 'tzid': tzid}) filter (where in_pack and not in_universe) as first_extra,
        count(*) filter (where in_pack and not in_universe) as extra_pairs_count,
        min({'country_iso': country_iso, 'tzid': tzid}) filter (where in_universe and not in_pack) as first_missing,
        count(*) filter (where in_universe and not in_pack) as missing_pairs_count
    from zones_compared
),

reconciliation_guard as (
    select
        case
            when duplicate_count > 0 then error(
                'E3A_S2_004_PRIOR_OR_POLICY_SCHEMA_INVALID: country ' || first_duplicate.country_iso
                || ' lists tzid ' || first_duplicate.tzid || ' more than once'
                || ' | phase=policy_load | context=' || json_object(
                    'logical_id', 'country_zone_alphas',
                    'schema_ref', 'schemas.3A.yaml#/policy/country_zone_alphas_v1',
                    'violation_count', duplicate_count,
                    'country_iso', first_duplicate.country_iso,
                    'tzid', first_duplicate.tzid
                )::varchar
            )
            when extra_pairs_count > 0 then error(
                'E3A_S2_005_ZONE_UNIVERSE_MISMATCH: prior-pack tzid ' || first_extra.tzid
                || ' is not in Z(' || first_extra.country_iso || ')'
                || ' | phase=zone_universe | context=' || json_object(
                    'country_iso', first_extra.country_iso,
                    'reason', 'unmappable_tzid',
                    'tzid', first_extra.tzid,
                    'extra_pairs_count', extra_pairs_count
                )::varchar
            )
            when missing_pairs_count > 0 then error(
                'E3A_S2_007_DOMAIN_MISMATCH_UNIVERSE: ' || missing_pairs_count::varchar
                || ' zone-universe pairs have no prior, e.g. ' || first_missing.country_iso
                || ' ' || first_missing.tzid
                || ' | phase=domain_check | context=' || json_object(
                    'missing_pairs_count', missing_pairs_count,
                    'extra_pairs_count', 0,
                    'sample_country_iso', first_missing.country_iso,
                    'sample_tzid', first_missing.tzid
                )::varchar
            )
            else true
        end as passed
    from reconciliation_verdict
),

-- The guard drives the join so that it is evaluated whatever the row count.
zones_reconciled as (
    select
        prior_alphas.country_iso,
        prior_alphas.tzid,
        prior_alphas.alpha_raw
    from reconciliation_guard
    inner join prior_alphas on reconciliation_guard.passed
)

select * from zones_reconciled
order by country_iso, tzid
