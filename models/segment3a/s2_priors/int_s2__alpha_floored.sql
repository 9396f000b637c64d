{{ config(materialized='seg3a_table', meta={'seg3a_phase': 'alpha_derivation'}) }}
-- One row per (country_iso, tzid) of the reconciled priors with floors applied and the
-- effective alpha vector derived (spec 02 §5 semantics, §7.1 step 8):
--   share_raw       = alpha_raw / csum(alpha_raw of the country, by tzid)   (0 if the sum is 0)
--   floor, bump     = the tzid's floor_value / bump_threshold, else 0.0 / 1.0
--   floor_alpha     = floor_value when share_raw >= bump_threshold, else 0
--   alpha_effective = max(alpha_raw, floor_alpha); floor_applied = alpha_effective > alpha_raw
--   alpha_sum_country = csum(alpha_effective by tzid); share_effective = alpha_effective / that
-- Every sum is the compensated csum in tzid order. A negative or zero alpha, a
-- non-positive sum, or shares not summing to 1 within 1e-12 is E3A_S2_008.
with

prior_zones as (
    select
        country_iso,
        tzid,
        alpha_raw
    from {{ ref('int_s2__prior_zones_reconciled') }}
),

floors as (
    select
        tzid,
        floor_value,
        bump_threshold
    from {{ ref('int_s2__floors_unnested') }}
),

country_raw_sums as (
    select
        country_iso,
        {{ seg3a_csum('list(alpha_raw order by tzid)') }} as alpha_raw_sum
    from prior_zones
    group by country_iso
),

zones_with_floors as (
    select
        prior_zones.country_iso,
        prior_zones.tzid,
        prior_zones.alpha_raw,
        case
            when country_raw_sums.alpha_raw_sum = 0 then 0.0::double
            else prior_zones.alpha_raw / country_raw_sums.alpha_raw_sum
        end as share_raw,
        coalesce(floors.floor_value, 0.0)::double as floor_value,
        coalesce(floors.bump_threshold, 1.0)::double as bump_threshold
    from prior_zones
    inner join country_raw_sums
        on prior_zones.country_iso = country_raw_sums.country_iso
    left join floors
        on prior_zones.tzid = floors.tzid
),

zones_floored as (
    select
        country_iso,
        tzid,
        alpha_raw,
        share_raw,
        floor_value,
        bump_threshold,
        case when share_raw >= bump_threshold then floor_value else 0.0::double end as floor_alpha,
        greatest(alpha_raw, floor_alpha) as alpha_effective,
        alpha_effective > alpha_raw as floor_applied
    from zones_with_floors
),

country_effective_sums as (
    select
        country_iso,
        {{ seg3a_csum('list(alpha_effective order by tzid)') }} as alpha_sum_country
    from zones_floored
    group by country_iso
),

zones_shared as (
    select
        zones_floored.*,
        country_effective_sums.alpha_sum_country,
        zones_floored.alpha_effective / country_effective_sums.alpha_sum_country as share_effective
    from zones_floored
    inner join country_effective_sums
        on zones_floored.country_iso = country_effective_sums.country_iso
),

country_share_sums as (
    select
        country_iso,
        any_value(alpha_sum_country) as alpha_sum_country,
        {{ seg3a_csum('list(share_effective order by tzid)') }} as share_sum,
        count(*) filter (where alpha_raw < 0 or alpha_effective <= 0) as degenerate_zones
    from zones_shared
    group by country_iso
),

alpha_verdict as (
    select
        min(country_iso) filter (where degenerate_zones > 0) as country_with_degenerate_alpha,
        min(country_iso) filter (where not alpha_sum_country > 0) as country_with_nonpositive_sum,
        min({'country_iso': country_iso, 'observed': share_sum}) filter (
            where not abs(share_sum - 1.0) <= 1e-12
        ) as first_share_sum_mismatch
    from country_share_sums
),

alpha_guard as (
    select
        case
            when country_with_degenerate_alpha is not null then error(
                'E3A_S2_008_ALPHA_VECTOR_DEGENERATE_OR_INCONSISTENT: country ' || country_with_degenerate_alpha
                || ' has a negative raw or non-positive effective alpha'
                || ' | phase=alpha_derivation | context=' || json_object(
                    'country_iso', country_with_degenerate_alpha,
                    'reason', 'alpha_negative_or_zero'
                )::varchar
            )
            when country_with_nonpositive_sum is not null then error(
                'E3A_S2_008_ALPHA_VECTOR_DEGENERATE_OR_INCONSISTENT: country ' || country_with_nonpositive_sum
                || ' has a non-positive alpha sum'
                || ' | phase=alpha_derivation | context=' || json_object(
                    'country_iso', country_with_nonpositive_sum,
                    'reason', 'alpha_sum_nonpositive'
                )::varchar
            )
            when first_share_sum_mismatch is not null then error(
                'E3A_S2_008_ALPHA_VECTOR_DEGENERATE_OR_INCONSISTENT: the effective shares of country '
                || first_share_sum_mismatch.country_iso || ' sum to '
                || first_share_sum_mismatch.observed::varchar || ', not 1 within 1e-12'
                || ' | phase=alpha_derivation | context=' || json_object(
                    'country_iso', first_share_sum_mismatch.country_iso,
                    'reason', 'share_sum_mismatch',
                    'expected', 1.0,
                    'observed', first_share_sum_mismatch.observed::varchar
                )::varchar
            )
            else true
        end as passed
    from alpha_verdict
),

-- The guard drives the join so that it is evaluated whatever the row count.
zones_derived as (
    select
        zones_shared.country_iso,
        zones_shared.tzid,
        zones_shared.alpha_raw,
        zones_shared.share_raw,
        zones_shared.floor_value,
        zones_shared.bump_threshold,
        zones_shared.alpha_effective,
        zones_shared.floor_applied,
        zones_shared.alpha_sum_country,
        zones_shared.share_effective
    from alpha_guard
    inner join zones_shared on alpha_guard.passed
)

select * from zones_derived
order by country_iso, tzid
