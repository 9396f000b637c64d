{{ config(
    materialized='seg3a_table',
    meta={'seg3a_phase': 'decision_eval'},
    post_hook=[
        "{{ seg3a_publish_partition('s1_escalation_queue', ['merchant_id', 'legal_country_iso'], 'E3A_S1_012_IMMUTABILITY_VIOLATION', presorted=true) }}"
    ]
) }}
-- depends_on: {{ ref('int_s1__decisions_replayed') }}
-- One row per (merchant_id, legal_country_iso) pair with outlets: the S1 escalation
-- decision, published write-once as one sorted zstd Parquet file at the dictionary
-- path (spec 02 §6.2). Before anything is written the pair set and site counts are
-- checked against a fresh count of the 1A catalogue (int_s1__outlet_pairs_recounted,
-- made on dbt's other thread while S1 aggregates and decides) (E3A_S1_008 / E3A_S1_009).
with

pairs_decided as (
    select
        merchant_id,
        legal_country_iso,
        site_count,
        zone_count_country,
        is_escalated,
        decision_reason,
        eligible_for_escalation,
        dominant_zone_share_bucket
    from {{ ref('int_s1__pairs_decided') }}
),

-- The pairs' keys and site counts for the domain comparison, by a scan of their own:
-- read twice, pairs_decided above would be materialised (every column of every pair).
pairs_decided_counted as (
    select
        merchant_id,
        legal_country_iso,
        site_count
    from {{ ref('int_s1__pairs_decided') }}
),

outlet_pairs_counted as (
    select
        merchant_id,
        legal_country_iso,
        site_count
    from {{ ref('int_s1__outlet_pairs_recounted') }}
),

inputs_verified as (
    select distinct
        seed,
        manifest_fingerprint
    from {{ ref('int_s1__inputs_verified') }}
),

mixture_policy as (
    select
        mixture_policy_id,
        mixture_policy_version,
        theta_digest
    from {{ ref('int_s1__mixture_policy_validated') }}
),

domain_compared as (
    select
        count(*) filter (where pairs_decided_counted.merchant_id is null) as missing_pairs_in_s1_count,
        count(*) filter (where outlet_pairs_counted.merchant_id is null) as extra_pairs_in_s1_count,
        count(*) filter (
            where pairs_decided_counted.site_count <> outlet_pairs_counted.site_count
        ) as site_count_mismatch_count,
        min(
            {
                'merchant_id': pairs_decided_counted.merchant_id,
                'legal_country_iso': pairs_decided_counted.legal_country_iso,
                'expected_count': outlet_pairs_counted.site_count,
                'observed_count': pairs_decided_counted.site_count
            }
        ) filter (where pairs_decided_counted.site_count <> outlet_pairs_counted.site_count) as first_site_count_mismatch
    from outlet_pairs_counted
    full outer join pairs_decided_counted
        on outlet_pairs_counted.merchant_id = pairs_decided_counted.merchant_id
        and outlet_pairs_counted.legal_country_iso = pairs_decided_counted.legal_country_iso
),

domain_guard as (
    select
        case
            when missing_pairs_in_s1_count > 0 or extra_pairs_in_s1_count > 0 then error(
                'E3A_S1_008_DOMAIN_MISMATCH_1A: the decided pairs differ from the 1A pairs'
                || ' | phase=decision_eval | context=' || json_object(
                    'missing_pairs_in_s1_count', missing_pairs_in_s1_count,
                    'extra_pairs_in_s1_count', extra_pairs_in_s1_count
                )::varchar
            )
            when site_count_mismatch_count > 0 then error(
                'E3A_S1_009_SITE_COUNT_MISMATCH: ' || site_count_mismatch_count::varchar
                || ' pairs have a site_count other than their 1A row count'
                || ' | phase=decision_eval | context=' || json_object(
                    'pair_examples', [{
                        'merchant_id': first_site_count_mismatch.merchant_id,
                        'legal_country_iso': first_site_count_mismatch.legal_country_iso
                    }],
                    'expected_count', first_site_count_mismatch.expected_count,
                    'observed_count', first_site_count_mismatch.observed_count,
                    'mismatch_count', site_count_mismatch_count
                )::varchar
            )
            else true
        end as passed
    from domain_compared
),

-- Only the columns that vary per pair are sorted; the run constants enter afterwards as
-- scalar subqueries over one-row relations, not by a join: a select over the ordered rows
-- keeps their order (DuckDB's order preservation), so the 64-character digests on every
-- row never enter the sort (at 10M pairs the wide sort spilled under the memory limit).
-- The table keeps that order, and the publishing COPY writes it as stored (presorted).
pairs_ordered as (
    select
        pairs_decided.merchant_id::ubigint as merchant_id,
        pairs_decided.legal_country_iso::varchar as legal_country_iso,
        pairs_decided.site_count::uinteger as site_count,
        pairs_decided.zone_count_country::uinteger as zone_count_country,
        pairs_decided.is_escalated::boolean as is_escalated,
        pairs_decided.decision_reason::varchar as decision_reason,
        pairs_decided.eligible_for_escalation::boolean as eligible_for_escalation,
        pairs_decided.dominant_zone_share_bucket::varchar as dominant_zone_share_bucket
    from domain_guard
    inner join pairs_decided on domain_guard.passed
    order by merchant_id, legal_country_iso
),

queue_rows as (
    select
        (select seed from inputs_verified)::ubigint as seed,
        (select manifest_fingerprint from inputs_verified)::varchar as manifest_fingerprint,
        pairs_ordered.merchant_id,
        pairs_ordered.legal_country_iso,
        pairs_ordered.site_count,
        pairs_ordered.zone_count_country,
        pairs_ordered.is_escalated,
        pairs_ordered.decision_reason,
        (select mixture_policy_id from mixture_policy)::varchar as mixture_policy_id,
        (select mixture_policy_version from mixture_policy)::varchar as mixture_policy_version,
        (select theta_digest from mixture_policy)::varchar as theta_digest,
        pairs_ordered.eligible_for_escalation,
        pairs_ordered.dominant_zone_share_bucket,
        null::varchar as notes
    from pairs_ordered
)

select * from queue_rows
