{{ config(materialized='seg3a_table', meta={'seg3a_phase': 'integerisation', 'seg3a_engine': 'spark'}) }}
-- One row per escalated pair x zone: floor + largest remainder of spec 03 §4.2.
-- T = double(N) x p, b = floor(T), r = T - b (binary64), R = N - sum(b); zones are
-- ranked by (r desc, tzid asc, zone_index asc) and the R best get b + 1. No minimum per
-- zone and no renormalisation: a zone whose target is below 1 and misses the ranking
-- gets 0. R comes from the same window as the rank (one partition sort); checks on r, R
-- and conservation live in int_s4__integerisation_checked. Stored narrow and in key
-- order: s4_zone_counts is a view on it, adding the run constants.
-- Both sorts key on zone_index q where the spec names tzid: q is the position of the
-- tzid in Z_ord(c), the country's S2 tzids in ascending order, so within a pair "q
-- ascending" is "tzid ascending" (tzids are unique within a pair, checked by
-- int_s4__zone_shares_consistent before this model runs), and an integer key sorts
-- with less work than the long tzid strings (3-4 CPU s less at 1M pairs).
with

int_s4__pairs_with_shares as (
    select
        merchant_id,
        legal_country_iso,
        tzid,
        zone_index,
        site_count,
        share_drawn,
        share_sum_country,
        alpha_sum_country
    from {{ ref('int_s4__pairs_with_shares') }}
),

targets_floored as (
    select
        merchant_id,
        legal_country_iso,
        tzid,
        zone_index,
        site_count,
        share_sum_country,
        alpha_sum_country,
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
        share_sum_country,
        alpha_sum_country,
        fractional_target,
        base_count,
        -- b is an integer below 2^53, so double(b) is exact and r is the binary64 T - b.
        fractional_target - cast(base_count as double) as residual
    from targets_floored
),

remainders_ranked as (
    select
        merchant_id,
        legal_country_iso,
        tzid,
        zone_index,
        site_count,
        share_sum_country,
        alpha_sum_country,
        fractional_target,
        base_count,
        residual,
        -- Total order: exact residuals first, then tzid ascending, spelled as q
        -- ascending (the same order within a pair, see the header); q is also the
        -- spec's formal last key.
        row_number() over residual_order as residual_rank,
        cast(site_count as bigint) - cast(sum(base_count) over whole_pair as bigint) as remainder_to_place
    from residuals_computed
    window
        residual_order as (
            partition by merchant_id, legal_country_iso
            order by residual desc, zone_index asc
        ),
        -- residual_order with a whole-partition frame, spelled out (Spark cannot extend a
        -- named window); the same partition and order keep it one sort on DuckDB
        whole_pair as (
            partition by merchant_id, legal_country_iso
            order by residual desc, zone_index asc
            rows between unbounded preceding and unbounded following
        )
),

counts_assigned as (
    select
        remainders_ranked.*,
        base_count + case when residual_rank <= remainder_to_place then 1 else 0 end as zone_site_count
    from remainders_ranked
)

-- Key order (merchant_id, legal_country_iso, tzid), with q for tzid (see the header).
select
    merchant_id,
    legal_country_iso,
    tzid,
    site_count,
    share_sum_country,
    alpha_sum_country,
    fractional_target,
    base_count,
    residual,
    remainder_to_place,
    residual_rank,
    zone_site_count
from counts_assigned
order by merchant_id, legal_country_iso, zone_index
