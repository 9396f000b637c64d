{{ config(materialized='seg3a_table', meta={'seg3a_phase': 'zone_structure'}) }}
-- One row per legal country with outlets (C_out) and its zone count |Z(c)| from the
-- zone universe (spec 02 §6.1 step 7). A country outside iso3166, without a polygon or
-- with an empty Z(c), or a sealed tz cache whose tzdb tag differs from the boundary
-- data's recorded release, is E3A_S1_006 (the first offending country, ascending).
-- The checks are S2's too (macros/seg3a_country_zones_checked.sql).
{{ seg3a_country_zones_checked(
    countries=ref('int_s1__site_counts_aggregated'),
    country_column='legal_country_iso',
    inputs_verified=ref('int_s1__inputs_verified'),
    code='E3A_S1_006_ZONE_STRUCTURE_INCONSISTENT',
    subject='legal country',
    phase='zone_structure',
    no_zones_reason='no_zones_defined'
) }}
