{{ config(materialized='table', meta={'seg3a_phase': 'integerisation'}) }}
-- depends_on: {{ ref('int_s4__zone_counts_checked') }}
-- One row: publishes the validated s4_zone_counts table write-once at its dictionary
-- path through the post-hook (spec 03 §4.3; E3A_S4_008 for a differing partition).
with

s4_zone_counts as (
    select merchant_id from {{ ref('s4_zone_counts') }}
),

rows_counted as (
    select
        's4_zone_counts' as dataset_id,
        count(*) as rows_published
    from s4_zone_counts
)

select * from rows_counted
