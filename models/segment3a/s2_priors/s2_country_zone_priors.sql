{{ config(
    materialized='seg3a_table',
    meta={'seg3a_phase': 'alpha_derivation'},
    post_hook=[
        "{{ seg3a_publish_partition('s2_country_zone_priors', ['country_iso', 'tzid'], 'E3A_S2_011_IMMUTABILITY_VIOLATION') }}"
    ]
) }}
-- One row per prior-pack country x zone of Z(c): raw and floor-adjusted alphas, the
-- country alpha sum and the effective share (spec 02 §7.2), published write-once as
-- one sorted zstd Parquet file at data/layer1/3A/s2_country_zone_priors/parameter_hash=.../.
-- Lineage is the sealed ids and the versions S0 recorded in sealed_policy_set; a loaded
-- version that differs from the sealed one is E3A_S2_010.
with

zones_derived as (
    select
        country_iso,
        tzid,
        alpha_raw,
        alpha_effective,
        alpha_sum_country,
        floor_applied,
        share_effective
    from {{ ref('int_s2__alpha_floored') }}
),

inputs_verified as (
    select
        parameter_hash,
        logical_id,
        sealed_version
    from {{ ref('int_s2__inputs_verified') }}
),

prior_pack as (
    select
        prior_pack_id,
        prior_pack_version
    from {{ ref('int_s2__prior_pack_validated') }}
),

floor_policy as (
    select
        floor_policy_id,
        floor_policy_version
    from {{ ref('int_s2__floor_policy_validated') }}
),

sealed_lineage as (
    select
        any_value(parameter_hash) as parameter_hash,
        max(sealed_version) filter (where logical_id = 'country_zone_alphas') as sealed_prior_pack_version,
        max(sealed_version) filter (where logical_id = 'zone_floor_policy') as sealed_floor_policy_version
    from inputs_verified
),

lineage_guard as (
    select
        case
            when prior_pack.prior_pack_id <> 'country_zone_alphas'
                or prior_pack.prior_pack_version is distinct from sealed_lineage.sealed_prior_pack_version then error(
                'E3A_S2_010_LINEAGE_INCONSISTENT: prior pack lineage differs from the sealed policy set'
                || ' | phase=alpha_derivation | context=' || json_object(
                    'field', 'prior_pack_version',
                    'expected', sealed_lineage.sealed_prior_pack_version,
                    'observed', prior_pack.prior_pack_version
                )::varchar
            )
            when floor_policy.floor_policy_id <> 'zone_floor_policy'
                or floor_policy.floor_policy_version is distinct from sealed_lineage.sealed_floor_policy_version then error(
                'E3A_S2_010_LINEAGE_INCONSISTENT: floor policy lineage differs from the sealed policy set'
                || ' | phase=alpha_derivation | context=' || json_object(
                    'field', 'floor_policy_version',
                    'expected', sealed_lineage.sealed_floor_policy_version,
                    'observed', floor_policy.floor_policy_version
                )::varchar
            )
            else true
        end as passed
    from sealed_lineage
    cross join prior_pack
    cross join floor_policy
),

priors_rows as (
    select
        sealed_lineage.parameter_hash::varchar as parameter_hash,
        zones_derived.country_iso::varchar as country_iso,
        zones_derived.tzid::varchar as tzid,
        zones_derived.alpha_raw::double as alpha_raw,
        zones_derived.alpha_effective::double as alpha_effective,
        zones_derived.alpha_sum_country::double as alpha_sum_country,
        prior_pack.prior_pack_id::varchar as prior_pack_id,
        prior_pack.prior_pack_version::varchar as prior_pack_version,
        floor_policy.floor_policy_id::varchar as floor_policy_id,
        floor_policy.floor_policy_version::varchar as floor_policy_version,
        zones_derived.floor_applied::boolean as floor_applied,
        zones_derived.floor_applied::boolean as bump_applied,
        zones_derived.share_effective::double as share_effective,
        null::varchar as notes
    from lineage_guard
    inner join zones_derived on lineage_guard.passed
    cross join sealed_lineage
    cross join prior_pack
    cross join floor_policy
)

select * from priors_rows
order by country_iso, tzid
