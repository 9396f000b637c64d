{{ config(materialized='view', meta={'seg3a_phase': 'integerisation'}) }}
-- s4_zone_counts (spec 03 §4.3): one row per escalated pair x zone of Z(c) with its
-- integer count. A view over the narrow int_s4__zone_counts_integerised table (stored in
-- key order) with the run constants (seed, fingerprint, lineage) from 1-row cross joins.
-- int_s4__integerisation_checked and int_s4__zone_counts_checked check it, then
-- int_s4__zone_counts_published writes the rows in verified key order.
with

int_s4__inputs_verified as (
    select
        seed,
        manifest_fingerprint
    from {{ ref('int_s4__inputs_verified') }}
),

int_s4__country_priors_checked as (
    select
        prior_pack_id,
        prior_pack_version,
        floor_policy_id,
        floor_policy_version
    from {{ ref('int_s4__country_priors_checked') }}
),

int_s4__zone_counts_integerised as (
    select
        merchant_id,
        legal_country_iso,
        tzid,
        site_count,
        share_sum_country,
        alpha_sum_country,
        fractional_target,
        residual_rank,
        zone_site_count
    from {{ ref('int_s4__zone_counts_integerised') }}
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
        int_s4__zone_counts_integerised.share_sum_country,
        int_s4__zone_counts_integerised.fractional_target,
        int_s4__zone_counts_integerised.residual_rank,
        int_s4__country_priors_checked.prior_pack_id,
        int_s4__country_priors_checked.prior_pack_version,
        int_s4__country_priors_checked.floor_policy_id,
        int_s4__country_priors_checked.floor_policy_version,
        int_s4__zone_counts_integerised.alpha_sum_country,
        cast(null as varchar) as notes
    from int_s4__zone_counts_integerised
    cross join int_s4__inputs_verified
    cross join int_s4__country_priors_checked
)

select * from count_rows
