{{ config(materialized='view') }}
-- depends_on: {{ ref('int_s4__integerisation_checked') }}
-- One row per escalated pair x zone in the columns and order of s4_zone_counts
-- (spec 03 §4.3); the rows both the output checks and the published table read.
with

int_s4__inputs_verified as (
    select
        seed,
        manifest_fingerprint
    from {{ ref('int_s4__inputs_verified') }}
),

int_s4__zone_counts_integerised as (
    select
        merchant_id,
        legal_country_iso,
        tzid,
        site_count,
        fractional_target,
        residual_rank,
        zone_site_count
    from {{ ref('int_s4__zone_counts_integerised') }}
),

int_s4__pairs_with_shares as (
    select
        merchant_id,
        legal_country_iso,
        tzid,
        share_sum_country,
        alpha_sum_country,
        prior_pack_id,
        prior_pack_version,
        floor_policy_id,
        floor_policy_version
    from {{ ref('int_s4__pairs_with_shares') }}
),

count_rows as (
    select
        int_s4__inputs_verified.seed,
        int_s4__inputs_verified.manifest_fingerprint,
        int_s4__zone_counts_integerised.merchant_id,
        int_s4__zone_counts_integerised.legal_country_iso,
        int_s4__zone_counts_integerised.tzid,
        int_s4__zone_counts_integerised.zone_site_count,
        cast(int_s4__zone_counts_integerised.site_count as bigint) as zone_site_count_sum,
        int_s4__pairs_with_shares.share_sum_country,
        int_s4__zone_counts_integerised.fractional_target,
        int_s4__zone_counts_integerised.residual_rank,
        int_s4__pairs_with_shares.prior_pack_id,
        int_s4__pairs_with_shares.prior_pack_version,
        int_s4__pairs_with_shares.floor_policy_id,
        int_s4__pairs_with_shares.floor_policy_version,
        int_s4__pairs_with_shares.alpha_sum_country,
        cast(null as varchar) as notes
    from int_s4__zone_counts_integerised
    inner join int_s4__pairs_with_shares
        on int_s4__zone_counts_integerised.merchant_id = int_s4__pairs_with_shares.merchant_id
        and int_s4__zone_counts_integerised.legal_country_iso = int_s4__pairs_with_shares.legal_country_iso
        and int_s4__zone_counts_integerised.tzid = int_s4__pairs_with_shares.tzid
    cross join int_s4__inputs_verified
)

select * from count_rows
