{{ config(materialized='ephemeral') }}
-- One row per escalated pair (D_esc, spec 03 §3.4) with its country's S2 shapes listed
-- in ascending tzid order (the order components are drawn).
with

s1_escalation_queue as (
    select
        merchant_id,
        legal_country_iso
    from {{ ref('s1_escalation_queue') }}
    where is_escalated
),

s2_country_zone_priors as (
    select
        country_iso,
        tzid,
        alpha_effective
    from {{ ref('s2_country_zone_priors') }}
),

country_alphas_listed as (
    select
        country_iso,
        {{ seg3a_list_ordered('alpha_effective', 'tzid') }} as alphas
    from s2_country_zone_priors
    group by country_iso
),

pairs_with_alpha as (
    select
        s1_escalation_queue.merchant_id,
        s1_escalation_queue.legal_country_iso,
        country_alphas_listed.alphas
    from s1_escalation_queue
    inner join country_alphas_listed
        on s1_escalation_queue.legal_country_iso = country_alphas_listed.country_iso
)

select * from pairs_with_alpha
