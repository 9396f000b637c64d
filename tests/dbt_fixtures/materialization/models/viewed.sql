-- A view (the project's `view` materialization on DuckDB) whose value is SEG3A_TABLE_FIXTURE_N;
-- its post-hook copies what the view shows, so that the hook is seen to run after it.
{{ config(materialized='view', post_hook="create or replace table main.viewed_by_hook as select * from " ~ this) }}
select cast({{ env_var('SEG3A_TABLE_FIXTURE_N', '1') }} as integer) as n
