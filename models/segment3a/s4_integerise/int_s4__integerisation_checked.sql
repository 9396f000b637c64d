{{ config(materialized='seg3a_table', meta={'seg3a_phase': 'integerisation'}) }}
-- One row (passed = true) once every pair of the built s4_zone_counts table is a sound
-- integerisation (spec 03 §4.2), with b = floor(T), r = T - b and R = N - sum(b)
-- re-derived from fractional_target exactly as the integerisation computes them:
-- residuals in [0, 1) (E3A_S4_007 integerisation_mismatch), R in [0, K] (E3A_S4_005
-- remainder_invalid), counts >= 0 summing to N (E3A_S4_005). Checked in that order,
-- before anything is published.
with

s4_zone_counts as (
    select
        merchant_id,
        legal_country_iso,
        zone_site_count,
        zone_site_count_sum,
        fractional_target
    from {{ ref('s4_zone_counts') }}
),

zones_rederived as (
    select
        merchant_id,
        legal_country_iso,
        zone_site_count,
        zone_site_count_sum,
        cast(floor(fractional_target) as bigint) as base_count,
        fractional_target - floor(fractional_target) as residual
    from s4_zone_counts
),

pairs_summarised as (
    select
        merchant_id,
        legal_country_iso,
        max(zone_site_count_sum) as site_count,
        count(*) as zone_count,
        max(zone_site_count_sum) - sum(base_count) as remainder_to_place,
        sum(zone_site_count) as zone_site_count_sum,
        min(zone_site_count) as smallest_count,
        count(*) filter (where not (residual >= 0 and residual < 1)) as residuals_outside
    from zones_rederived
    group by merchant_id, legal_country_iso
),

pairs_assessed as (
    select
        merchant_id,
        legal_country_iso,
        site_count,
        zone_site_count_sum,
        residuals_outside = 0 as residuals_valid,
        remainder_to_place between 0 and zone_count as remainder_valid,
        smallest_count >= 0 and zone_site_count_sum = site_count as counts_conserved
    from pairs_summarised
),

integerisation_guard as (
    select
        case
            when count(*) filter (where not residuals_valid) > 0 then error(
                'E3A_S4_007_OUTPUT_INCONSISTENT: a residual T - floor(T) lies outside [0, 1)'
                || ' | phase=integerisation | context='
                || json_object(
                    'reason', 'integerisation_mismatch',
                    'affected_pairs_count', count(*) filter (where not residuals_valid),
                    'sample_pair', min({'merchant_id': merchant_id, 'legal_country_iso': legal_country_iso})
                        filter (where not residuals_valid)
                )::varchar
            )
            when count(*) filter (where not remainder_valid) > 0 then error(
                'E3A_S4_005_COUNT_CONSERVATION_BROKEN: remainder R = N - sum(floor) outside [0, K]'
                || ' | phase=integerisation | context='
                || json_object(
                    'reason', 'remainder_invalid',
                    'affected_pairs_count', count(*) filter (where not remainder_valid),
                    'sample_pair', min({'merchant_id': merchant_id, 'legal_country_iso': legal_country_iso})
                        filter (where not remainder_valid)
                )::varchar
            )
            when count(*) filter (where not counts_conserved) > 0 then error(
                'E3A_S4_005_COUNT_CONSERVATION_BROKEN: zone counts negative or not summing to site_count'
                || ' | phase=integerisation | context='
                || json_object(
                    'reason', 'count_not_conserved',
                    'affected_pairs_count', count(*) filter (where not counts_conserved),
                    'sample', min({
                        'merchant_id': merchant_id,
                        'legal_country_iso': legal_country_iso,
                        'site_count': site_count,
                        'zone_site_count_sum': zone_site_count_sum
                    }) filter (where not counts_conserved)
                )::varchar
            )
            else true
        end as passed
    from pairs_assessed
)

select passed from integerisation_guard
