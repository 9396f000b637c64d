{{ config(materialized='seg3a_table', meta={'seg3a_phase': 'zone_universe'}) }}
-- depends_on: {{ ref('int_s2__floor_policy_validated') }}
-- One row per prior-pack country (C_priors = the pack's keys, spec 02 §7.1 step 5)
-- with |Z(c)|. A country outside iso3166, without a polygon or with an empty Z(c), or
-- a sealed tz cache whose tzdb tag differs from the boundary data's release, is
-- E3A_S2_005 (first offending country, ascending). The checks are S1's too
-- (macros/seg3a_country_zones_checked.sql).
{{ seg3a_country_zones_checked(
    countries=ref('int_s2__prior_alphas_unnested'),
    country_column='country_iso',
    inputs_verified=ref('int_s2__inputs_verified'),
    code='E3A_S2_005_ZONE_UNIVERSE_MISMATCH',
    subject='prior-pack country',
    phase='zone_universe',
    no_zones_reason='no_zones_for_country'
) }}
