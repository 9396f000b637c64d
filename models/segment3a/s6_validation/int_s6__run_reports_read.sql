{{ config(materialized='ephemeral') }}
-- depends_on: {{ ref('int_s6__inputs_verified') }}
-- S6 input 'run_reports' as published (macros/seg3a_s6_read.sql); the S6 checks are tests on it.
{{ seg3a_s6_read_model('run_reports') }}
