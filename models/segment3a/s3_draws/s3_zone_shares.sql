{{ config(materialized='view', meta={'seg3a_phase': 'sampling'}) }}
-- s3_zone_shares (spec 03 §3.5): one row per escalated pair x zone of Z(c), the K
-- shares of each draw unnested against its country's tzids (int_s3__country_zone_lists).
-- A view over int_s3__draws:
-- writing long, mostly repeated strings (fingerprint, stream id, lineage) per zone row
-- into the database would cost more than everything that reads them. Rows usually
-- stream in key order (draws are stored in pair order, tzids ascend within a pair), but
-- nothing relies on it: int_s3__zone_shares_checked checks keys and schema, and
-- int_s3__zone_shares_published writes the rows in verified key order (§3.6).
with

rng_audit_log as (
    select
        seed,
        manifest_fingerprint
    from {{ ref('rng_audit_log') }}
),

int_s3__country_priors_checked as (
    select
        prior_pack_id,
        prior_pack_version,
        floor_policy_id,
        floor_policy_version
    from {{ ref('int_s3__country_priors_checked') }}
),

int_s3__draws as (
    select
        merchant_id,
        legal_country_iso,
        shares,
        share_sum,
        alpha_sum_country,
        rng_stream_id
    from {{ ref('int_s3__draws') }}
),

int_s3__country_zone_lists as (
    select tzids_by_country
    from {{ ref('int_s3__country_zone_lists') }}
),

zones_unnested as (
    -- A cross join with the one-row table keeps the draws' stored order (a join on the
    -- country would not); int_s3__draws checked every pair's K against these tzids.
    select
        int_s3__draws.merchant_id,
        int_s3__draws.legal_country_iso,
        unnest(int_s3__country_zone_lists.tzids_by_country[int_s3__draws.legal_country_iso]) as tzid,
        unnest(int_s3__draws.shares) as share_drawn,
        int_s3__draws.share_sum,
        int_s3__draws.alpha_sum_country,
        int_s3__draws.rng_stream_id
    from int_s3__draws
    cross join int_s3__country_zone_lists
),

share_rows as (
    select
        rng_audit_log.seed,
        rng_audit_log.manifest_fingerprint,
        zones_unnested.merchant_id,
        zones_unnested.legal_country_iso,
        zones_unnested.tzid,
        zones_unnested.share_drawn,
        zones_unnested.share_sum as share_sum_country,
        zones_unnested.alpha_sum_country,
        int_s3__country_priors_checked.prior_pack_id,
        int_s3__country_priors_checked.prior_pack_version,
        int_s3__country_priors_checked.floor_policy_id,
        int_s3__country_priors_checked.floor_policy_version,
        '3A.S3' as rng_module,
        'zone_dirichlet' as rng_substream_label,
        zones_unnested.rng_stream_id,
        cast(null as varchar) as rng_event_id,
        cast(null as varchar) as notes
    from zones_unnested
    cross join rng_audit_log
    cross join int_s3__country_priors_checked
)

select * from share_rows
