{{ config(severity='error', store_failures=true, meta={'seg3a_s6_role': 'preconditions'}) }}
-- depends_on: {{ ref('int_s6__inputs_verified') }}
-- Spec 04 §2.1 as a data test, so that `dbt test` alone judges the preconditions before
-- the checks are published: one row with the E3A code when they do not hold.
with

precondition as (
    select s3a_s6_preconditions(seg3a_run_root()) as failure
),

validation_errors as (
    select
        regexp_extract(failure, '^(E3A_S6_[0-9]{3}_[A-Z_]+)', 1) as error_code,
        failure as message
    from precondition
    where failure is not null
)

select * from validation_errors
