{{ config(materialized='view', meta={'seg3a_phase': 'zone_alloc_build'}) }}
-- depends_on: {{ ref('int_s5__zone_alloc_checked') }}
-- zone_alloc (spec 04 §1.3): the 3A egress, one row per escalated pair x zone of Z(c)
-- with the routing universe hash on every row, in key order, published write-once as
-- part-00000.parquet by the post-hook. Runs only after
-- int_s5__zone_alloc_checked validated the same rows, written as that file in a stage:
-- the post-hook publishes that stage by rename, and writes the Parquet from this view
-- only when the stage is not there (the checking model ran in another invocation). A
-- view, not a table: nothing else needs the rows stored (docs/decisions.md, S5-S7
-- details).
with

int_s5__zone_alloc_rows as (
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
        routing_universe_hash,
        alpha_sum_country,
        notes
    from {{ ref('int_s5__zone_alloc_rows') }}
)

-- in writer sort already (int_s5__zone_alloc_masked); an ORDER BY here would sort the
-- wide rows again
select * from int_s5__zone_alloc_rows
