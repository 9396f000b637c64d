{{ config(materialized='seg3a_table', meta={'seg3a_phase': 'decision_eval'}) }}
-- depends_on: {{ ref('int_s1__inputs_verified') }}
-- depends_on: {{ ref('int_s1__mixture_policy_validated') }}
-- One row per (merchant_id, legal_country_iso) pair of the 1A outlet_catalogue with its
-- row count, counted afresh (not taken from int_s1__site_counts_aggregated) for the
-- self-check of s1_escalation_queue against 1A (E3A_S1_008 / E3A_S1_009, raised there).
-- Nothing here fails, and nothing orders it after S1's aggregation, decisions or replay,
-- so dbt's other thread makes it while those run.
with

stg_1a__outlet_catalogue as (
    select
        merchant_id,
        legal_country_iso
    from {{ ref('stg_1a__outlet_catalogue') }}
),

outlet_pairs_counted as (
    select
        merchant_id,
        legal_country_iso,
        count(*) as site_count
    from stg_1a__outlet_catalogue
    group by merchant_id, legal_country_iso
)

select * from outlet_pairs_counted
