{{ config(materialized='ephemeral') }}
-- One row per escalated pair (D_esc, spec 03 §3.4) with its country's S2 shapes listed
-- in ascending tzid order (the order components are drawn), each times the pair's
-- site-count factor g(n) of zone_mixture_policy's s3_dispersion.site_count_concentration
-- (seg3a.states.s3_concentration): clamp(sqrt(n / reference_sites) or n / reference_sites,
-- min_factor, max_factor). Only correctly rounded operations (division, sqrt, min, max,
-- one product per shape), so DuckDB, Spark and NumPy agree bit for bit. Off (knob or
-- s3_dispersion disabled, or absent) the factor is exactly 1.0 and the shapes are S2's.
with

s1_escalation_queue as (
    select
        merchant_id,
        legal_country_iso,
        site_count
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

int_s3__dispersion_policy as (
    select
        enabled and site_count_concentration_enabled as site_count_concentration_on,
        site_count_concentration_exponent,
        site_count_concentration_reference_sites,
        site_count_concentration_min_factor,
        site_count_concentration_max_factor
    from {{ ref('int_s3__dispersion_policy') }}
),

country_alphas_listed as (
    select
        country_iso,
        {{ seg3a_list_ordered('alpha_effective', 'tzid') }} as alphas
    from s2_country_zone_priors
    group by country_iso
),

site_count_ratios as (
    select
        s1_escalation_queue.merchant_id,
        s1_escalation_queue.legal_country_iso,
        cast(s1_escalation_queue.site_count as double)
            / int_s3__dispersion_policy.site_count_concentration_reference_sites as site_count_ratio,
        int_s3__dispersion_policy.site_count_concentration_on,
        int_s3__dispersion_policy.site_count_concentration_exponent,
        int_s3__dispersion_policy.site_count_concentration_min_factor,
        int_s3__dispersion_policy.site_count_concentration_max_factor
    from s1_escalation_queue
    cross join int_s3__dispersion_policy
),

pairs_factored as (
    select
        merchant_id,
        legal_country_iso,
        case
            when not site_count_concentration_on then cast(1.0 as double)
            else least(
                greatest(
                    case
                        when site_count_concentration_exponent = 0.5 then sqrt(site_count_ratio)
                        else site_count_ratio
                    end,
                    site_count_concentration_min_factor
                ),
                site_count_concentration_max_factor
            )
        end as site_count_factor
    from site_count_ratios
),

pairs_with_alpha as (
    select
        pairs_factored.merchant_id,
        pairs_factored.legal_country_iso,
        {{ seg3a_list_scaled('country_alphas_listed.alphas', 'pairs_factored.site_count_factor') }} as alphas
    from pairs_factored
    inner join country_alphas_listed
        on pairs_factored.legal_country_iso = country_alphas_listed.country_iso
)

select * from pairs_with_alpha
