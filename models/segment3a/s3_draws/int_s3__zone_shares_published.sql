{{ config(materialized='table', meta={'seg3a_phase': 'sampling'}) }}
-- depends_on: {{ ref('int_s3__zone_shares_checked') }}
-- One row: publishes the validated s3_zone_shares table write-once at its dictionary
-- path through the post-hook (spec 03 §3.6; E3A_S3_011 for a differing partition).
with

s3_zone_shares as (
    select merchant_id from {{ ref('s3_zone_shares') }}
),

rows_counted as (
    select
        's3_zone_shares' as dataset_id,
        count(*) as rows_published
    from s3_zone_shares
)

select * from rows_counted
