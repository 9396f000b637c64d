{{ config(materialized='table', meta={'seg3a_phase': 'integerisation'}) }}
-- One row per escalated pair x zone: floor + largest remainder of spec 03 §4.2.
-- T = double(N) x p, b = floor(T), r = T - b (binary64), R = N - sum(b); zones are
-- ranked by (r desc, tzid asc, zone_index asc) and the R best get b + 1. No minimum per
-- zone and no renormalisation: a zone whose target is below 1 and misses the ranking
-- gets 0. Checks on r, R and conservation live in int_s4__integerisation_checked.
-- The share sum of the pair and the S2 alpha sum of the country, which s4_zone_counts
-- copies, pass through. Stored narrow and in key order: s4_zone_counts is a view on it.
{%- set copied = ['share_sum_country', 'alpha_sum_country'] %}
with

int_s4__pairs_with_shares as (
    select
        merchant_id,
        legal_country_iso,
        tzid,
        zone_index,
        site_count,
        share_drawn,
        {{ copied | join(',\n        ') }}
    from {{ ref('int_s4__pairs_with_shares') }}
),

targets_floored as (
    select
        merchant_id,
        legal_country_iso,
        tzid,
        zone_index,
        site_count,
        share_drawn,
        {{ copied | join(',\n        ') }},
        cast(site_count as double) * share_drawn as fractional_target,
        cast(floor(cast(site_count as double) * share_drawn) as bigint) as base_count
    from int_s4__pairs_with_shares
),

residuals_computed as (
    select
        merchant_id,
        legal_country_iso,
        tzid,
        zone_index,
        site_count,
        share_drawn,
        {{ copied | join(',\n        ') }},
        fractional_target,
        base_count,
        -- b is an integer below 2^53, so double(b) is exact and r is the binary64 T - b.
        fractional_target - cast(base_count as double) as residual,
        cast(site_count as bigint) - cast(sum(base_count) over pair_zones as bigint) as remainder_to_place,
        count(*) over pair_zones as zone_count
    from targets_floored
    window pair_zones as (partition by merchant_id, legal_country_iso)
),

remainders_ranked as (
    select
        merchant_id,
        legal_country_iso,
        tzid,
        zone_index,
        site_count,
        share_drawn,
        {{ copied | join(',\n        ') }},
        fractional_target,
        base_count,
        residual,
        remainder_to_place,
        zone_count,
        -- Total order: exact residuals first, tzid breaks ties, the zone index is the
        -- formal last key of the spec (tzids are unique within a pair).
        row_number() over (
            partition by merchant_id, legal_country_iso
            order by residual desc, tzid asc, zone_index asc
        ) as residual_rank
    from residuals_computed
),

counts_assigned as (
    select
        merchant_id,
        legal_country_iso,
        tzid,
        zone_index,
        site_count,
        share_drawn,
        {{ copied | join(',\n        ') }},
        fractional_target,
        base_count,
        residual,
        remainder_to_place,
        zone_count,
        residual_rank,
        base_count + case when residual_rank <= remainder_to_place then 1 else 0 end as zone_site_count
    from remainders_ranked
)

select * from counts_assigned
order by merchant_id, legal_country_iso, tzid
