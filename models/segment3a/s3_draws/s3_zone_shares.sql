{{ config(materialized='table', meta={'seg3a_phase': 'sampling'}) }}
-- depends_on: {{ ref('int_s3__zone_shares_checked') }}
-- s3_zone_shares (spec 03 §3.5): one row per escalated pair x zone of Z(c), sorted by
-- the key, published write-once as part-00000.parquet by the post-hook (§3.6). Runs
-- only after int_s3__zone_shares_checked validated the same rows.
with

int_s3__zone_share_rows as (
    select
        seed,
        manifest_fingerprint,
        merchant_id,
        legal_country_iso,
        tzid,
        share_drawn,
        share_sum_country,
        alpha_sum_country,
        prior_pack_id,
        prior_pack_version,
        floor_policy_id,
        floor_policy_version,
        rng_module,
        rng_substream_label,
        rng_stream_id,
        rng_event_id,
        notes
    from {{ ref('int_s3__zone_share_rows') }}
)

select * from int_s3__zone_share_rows
order by merchant_id, legal_country_iso, tzid
