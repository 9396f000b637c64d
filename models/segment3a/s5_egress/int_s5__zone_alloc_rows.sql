{{ config(materialized='view', meta={'seg3a_phase': 'zone_alloc_build'}) }}
-- The final zone_alloc frame (spec 04 §1.3, finalising step 1): the masked rows with
-- routing_universe_hash written into every row. Checked by int_s5__zone_alloc_checked
-- and published by zone_alloc.
with

int_s5__zone_alloc_masked as (
    select
        seed,
        manifest_fingerprint,
        merchant_id,
        legal_country_iso,
        tzid,
        zone_site_count,
        zone_site_count_sum,
        site_count,
        prior_pack_id,
        prior_pack_version,
        floor_policy_id,
        floor_policy_version,
        mixture_policy_id,
        mixture_policy_version,
        day_effect_policy_id,
        day_effect_policy_version,
        alpha_sum_country,
        notes
    from {{ ref('int_s5__zone_alloc_masked') }}
),

int_s5__universe_digests as (
    select routing_universe_hash
    from {{ ref('int_s5__universe_digests') }}
),

routing_hash_written as (
    select
        int_s5__zone_alloc_masked.seed,
        int_s5__zone_alloc_masked.manifest_fingerprint,
        int_s5__zone_alloc_masked.merchant_id,
        int_s5__zone_alloc_masked.legal_country_iso,
        int_s5__zone_alloc_masked.tzid,
        int_s5__zone_alloc_masked.zone_site_count,
        int_s5__zone_alloc_masked.zone_site_count_sum,
        int_s5__zone_alloc_masked.site_count,
        int_s5__zone_alloc_masked.prior_pack_id,
        int_s5__zone_alloc_masked.prior_pack_version,
        int_s5__zone_alloc_masked.floor_policy_id,
        int_s5__zone_alloc_masked.floor_policy_version,
        int_s5__zone_alloc_masked.mixture_policy_id,
        int_s5__zone_alloc_masked.mixture_policy_version,
        int_s5__zone_alloc_masked.day_effect_policy_id,
        int_s5__zone_alloc_masked.day_effect_policy_version,
        cast(int_s5__universe_digests.routing_universe_hash as varchar) as routing_universe_hash,
        int_s5__zone_alloc_masked.alpha_sum_country,
        int_s5__zone_alloc_masked.notes
    from int_s5__zone_alloc_masked
    cross join int_s5__universe_digests
)

select * from routing_hash_written
