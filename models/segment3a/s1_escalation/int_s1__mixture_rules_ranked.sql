{{ config(materialized='ephemeral') }}
-- One row per rule of the mixture policy's first-match ladder, rule_rank = file order.
with

mixture_policy as (
    select rules from {{ ref('int_s1__mixture_policy_validated') }}
),

rules_unnested as (
    select {{ seg3a_unnest_structs("rules") }}
    from mixture_policy
),

rules_ranked as (
    select
        rule_rank,
        metric,
        threshold,
        decision_reason,
        bucket
    from rules_unnested
)

select * from rules_ranked
