{{ config(materialized='ephemeral') }}
-- depends_on: {{ ref('int_s6__inputs_verified') }}
-- S6 input 'country_zone_priors' as published (macros/seg3a_s6_read.sql); the S6 checks are tests on it.
{{ seg3a_s6_read_model('country_zone_priors') }}
