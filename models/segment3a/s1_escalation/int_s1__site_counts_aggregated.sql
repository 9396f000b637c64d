{{ config(materialized='seg3a_table', meta={'seg3a_phase': 'outlet_aggregate', 'seg3a_engine': 'spark'}) }}
-- depends_on: {{ ref('int_s1__inputs_verified') }}
-- depends_on: {{ ref('int_s1__mixture_policy_validated') }}
-- One row per (merchant_id, legal_country_iso) pair with outlets: site_count = the
-- number of 1A outlet rows of the pair (spec 02 §6.1 step 6). A catalogue without any
-- pair is E3A_S1_008. Runs after the entry gate and the policy load, so their
-- failures come first.
with

stg_1a__outlet_catalogue as (
    select
        merchant_id,
        legal_country_iso
    from {{ ref('stg_1a__outlet_catalogue') }}
),

pairs_counted as (
    select
        stg_1a__outlet_catalogue.merchant_id,
        stg_1a__outlet_catalogue.legal_country_iso,
        count(*) as site_count
    from stg_1a__outlet_catalogue
    group by stg_1a__outlet_catalogue.merchant_id, stg_1a__outlet_catalogue.legal_country_iso
),

pairs_guard as (
    select
        case
            when count(*) = 0 then {{ seg3a_raise(
                "'E3A_S1_008_DOMAIN_MISMATCH_1A: outlet_catalogue holds no (merchant, country) pair'
                || ' | phase=outlet_aggregate'
                || ' | context={\"extra_pairs_in_s1_count\":0,\"missing_pairs_in_s1_count\":0,\"reason\":\"no_pairs\"}'"
            ) }}
            else true
        end as passed
    from pairs_counted
),

-- The guard drives the join so that it is evaluated even when there is no pair.
pairs_checked as (
    select pairs_counted.*
    from pairs_guard
    left join pairs_counted on pairs_guard.passed
)

select * from pairs_checked
order by merchant_id, legal_country_iso
