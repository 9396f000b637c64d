{{ config(materialized='seg3a_table', meta={'seg3a_phase': 'decision_eval', 'seg3a_engine': 'spark'}) }}
-- One row per (merchant_id, legal_country_iso) pair with its escalation decision
-- (spec 02 §6.1 step 8):
--   1. the first rule of the ladder (file order) whose predicate holds gives the
--      reason and bucket;
--   2. a below_min_sites pair escalates when U('3A.S1.smooth_band') < P_s(k, n)
--      (bucket s1_smooth_band);
--   3. a pair no rule decides escalates when U('3A.S1.theta_mix') < theta_mix, else it
--      is legacy_default;
--   4. the booleans follow from the reason.
-- Hash uniforms are drawn only where a step needs them; the diagnostics (P_s, both
-- uniforms) stay in this table for the replay and for audit.
with

site_counts as (
    select
        merchant_id,
        legal_country_iso,
        site_count
    from {{ ref('int_s1__site_counts_aggregated') }}
),

country_zones as (
    select
        country_iso,
        zone_count_country
    from {{ ref('int_s1__country_zones_checked') }}
),

inputs_verified as (
    select distinct parameter_hash from {{ ref('int_s1__inputs_verified') }}
),

mixture_policy as (
    select
        theta_mix,
        smoothing_enabled,
        zone_count_min,
        zone_count_max,
        zone_escalation_prob_min,
        zone_escalation_prob_max,
        site_count_slope,
        site_count_cap
    from {{ ref('int_s1__mixture_policy_validated') }}
),

mixture_rules as (
    select
        rule_rank,
        metric,
        threshold,
        decision_reason,
        bucket
    from {{ ref('int_s1__mixture_rules_ranked') }}
),

pairs_with_zones as (
    select
        site_counts.merchant_id,
        site_counts.legal_country_iso,
        site_counts.site_count,
        country_zones.zone_count_country
    from site_counts
    inner join country_zones
        on site_counts.legal_country_iso = country_zones.country_iso
),

pairs_rule_matched as (
    select
        pairs_with_zones.merchant_id,
        pairs_with_zones.legal_country_iso,
        min(mixture_rules.rule_rank) as rule_rank
    from pairs_with_zones
    inner join mixture_rules
        on (mixture_rules.metric = 'site_count_lt' and pairs_with_zones.site_count < mixture_rules.threshold)
        or (mixture_rules.metric = 'zone_count_country_le' and pairs_with_zones.zone_count_country <= mixture_rules.threshold)
        or (mixture_rules.metric = 'site_count_ge' and pairs_with_zones.site_count >= mixture_rules.threshold)
        or (mixture_rules.metric = 'zone_count_country_ge' and pairs_with_zones.zone_count_country >= mixture_rules.threshold)
    group by pairs_with_zones.merchant_id, pairs_with_zones.legal_country_iso
),

pairs_first_rule as (
    select
        pairs_with_zones.merchant_id,
        pairs_with_zones.legal_country_iso,
        pairs_with_zones.site_count,
        pairs_with_zones.zone_count_country,
        pairs_rule_matched.rule_rank,
        mixture_rules.decision_reason as rule_reason,
        mixture_rules.bucket as rule_bucket
    from pairs_with_zones
    left join pairs_rule_matched
        on pairs_with_zones.merchant_id = pairs_rule_matched.merchant_id
        and pairs_with_zones.legal_country_iso = pairs_rule_matched.legal_country_iso
    left join mixture_rules
        on pairs_rule_matched.rule_rank = mixture_rules.rule_rank
),

pairs_banded as (
    select
        pairs_first_rule.*,
        {{ seg3a_s1_smoothing_probability(
            'pairs_first_rule.zone_count_country', 'pairs_first_rule.site_count', 'mixture_policy'
        ) }} as smooth_band_probability,
        case
            when pairs_first_rule.rule_reason = 'below_min_sites' and smooth_band_probability > 0
                then s3a_hash_uniform(
                    '3A.S1.smooth_band',
                    pairs_first_rule.merchant_id,
                    pairs_first_rule.legal_country_iso,
                    inputs_verified.parameter_hash
                )
        end as smooth_band_u,
        case
            when pairs_first_rule.rule_reason is null
                then s3a_hash_uniform(
                    '3A.S1.theta_mix',
                    pairs_first_rule.merchant_id,
                    pairs_first_rule.legal_country_iso,
                    inputs_verified.parameter_hash
                )
        end as theta_mix_u,
        mixture_policy.theta_mix
    from pairs_first_rule
    cross join mixture_policy
    cross join inputs_verified
),

pairs_reasoned as (
    select
        *,
        coalesce(smooth_band_u < smooth_band_probability, false) as smooth_band_escalated,
        case
            when rule_reason is null and theta_mix_u < theta_mix then 'default_escalation'
            when rule_reason is null then 'legacy_default'
            when coalesce(smooth_band_u < smooth_band_probability, false) then 'default_escalation'
            else rule_reason
        end as decision_reason,
        case
            when coalesce(smooth_band_u < smooth_band_probability, false) then 's1_smooth_band'
            else rule_bucket
        end as dominant_zone_share_bucket
    from pairs_banded
),

pairs_decided as (
    select
        merchant_id,
        legal_country_iso,
        site_count,
        zone_count_country,
        rule_rank,
        case
            when decision_reason in (
                'forced_monolithic', 'below_min_sites', 'legacy_default', 'forced_escalation', 'default_escalation'
            ) then decision_reason
            else {{ seg3a_raise(
                "'E3A_S1_005_POLICY_SCHEMA_INVALID: decision reason ' || decision_reason
                || ' outside the vocabulary | phase=decision_eval | context='
                || " ~ seg3a_json_object("'logical_id'", "'zone_mixture_policy'", "'reason'", "'bad_reason_at_evaluation'")
            ) }}
        end as decision_reason,
        decision_reason in ('forced_escalation', 'default_escalation') as is_escalated,
        decision_reason in ('forced_escalation', 'default_escalation', 'legacy_default') as eligible_for_escalation,
        dominant_zone_share_bucket,
        smooth_band_escalated,
        smooth_band_probability,
        smooth_band_u,
        theta_mix_u
    from pairs_reasoned
)

select * from pairs_decided
order by merchant_id, legal_country_iso
