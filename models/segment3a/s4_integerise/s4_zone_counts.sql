{{ config(materialized='table', meta={'seg3a_phase': 'integerisation'}) }}
-- depends_on: {{ ref('int_s4__zone_counts_checked') }}
-- s4_zone_counts (spec 03 §4.3): one row per escalated pair x zone of Z(c), sorted by
-- the key, published write-once as part-00000.parquet by the post-hook. Runs only after
-- int_s4__zone_counts_checked validated the same rows.
with

int_s4__zone_count_rows as (
    select
        seed,
        manifest_fingerprint,
        merchant_id,
        legal_country_iso,
        tzid,
        zone_site_count,
        zone_site_count_sum,
        share_sum_country,
        fractional_target,
        residual_rank,
        prior_pack_id,
        prior_pack_version,
        floor_policy_id,
        floor_policy_version,
        alpha_sum_country,
        notes
    from {{ ref('int_s4__zone_count_rows') }}
)

select * from int_s4__zone_count_rows
order by merchant_id, legal_country_iso, tzid
