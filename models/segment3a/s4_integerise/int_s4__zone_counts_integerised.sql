{{ config(materialized='seg3a_table', meta={'seg3a_phase': 'integerisation', 'seg3a_engine': 'spark'}) }}
-- One row per escalated pair x zone: floor + largest remainder of spec 03 §4.2, computed
-- per pair by the s3a_integerise UDF (python_udfs/integerise.py, the one place of the
-- formula: T, b = floor(T), r = T - b, R = N - sum(b), ranks by (r desc, tzid asc), the
-- R best get b + 1) from the pair's shares in tzid order. Checks on r, R and
-- conservation live in int_s4__integerisation_checked. Stored narrow and in key order:
-- s4_zone_counts is a view on it, adding the run constants.
-- Key order without sorting zone rows: the pairs are sorted (one row each), and each
-- pair's zones are unnested in list order, which is tzid order (Z_ord(c)); DuckDB keeps
-- a sorted input's order through the unnest into the stored table.
with

int_s4__pairs_with_shares as (
    select
        merchant_id,
        legal_country_iso,
        tzids,
        site_count,
        shares,
        share_sum_country,
        alpha_sum_country
    from {{ ref('int_s4__pairs_with_shares') }}
),

-- Sorted before the UDF runs, so the sort carries each pair's shares, not its zone
-- structs (about 1 CPU s and 500 MiB less at 1M pairs).
pairs_ordered as (
    select *
    from int_s4__pairs_with_shares
    order by merchant_id, legal_country_iso
),

pairs_integerised as (
    select
        merchant_id,
        legal_country_iso,
        tzids,
        site_count,
        share_sum_country,
        alpha_sum_country,
        s3a_integerise(shares, {{ seg3a_cast('site_count', 'bigint') }}) as zone_counts
    from pairs_ordered
),

zones_unnested as (
    select
        merchant_id,
        legal_country_iso,
        tzids,
        site_count,
        share_sum_country,
        alpha_sum_country,
        {{ seg3a_unnest_structs('zone_counts') }}
    from pairs_integerised
)

-- Key order (merchant_id, legal_country_iso, tzid): pairs sorted, zones in tzid order.
select
    merchant_id,
    legal_country_iso,
    {{ seg3a_list_element('tzids', 'zone_index') }} as tzid,
    site_count,
    share_sum_country,
    alpha_sum_country,
    fractional_target,
    base_count,
    residual,
    remainder_to_place,
    residual_rank,
    zone_site_count
from zones_unnested
