{{ config(materialized='view', meta={'seg3a_phase': 'zone_alloc_build'}) }}
-- The final zone_alloc frame (spec 04 §1.3, finalising step 1): the masked rows, in
-- writer sort, with routing_universe_hash written into every row. Checked by
-- int_s5__zone_alloc_checked and published by zone_alloc; in a full build the checking
-- model writes these rows from the masked frame's file instead (same rows, same order),
-- and this view is evaluated only without that file.
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

-- The hash enters as a scalar subquery, not by a join, so that the masked rows keep
-- their writer sort (see int_s5__zone_alloc_masked).
routing_hash_written as (
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
        cast((select routing_universe_hash from int_s5__universe_digests) as varchar) as routing_universe_hash,
        alpha_sum_country,
        notes
    from int_s5__zone_alloc_masked
)

select * from routing_hash_written
