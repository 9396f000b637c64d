{{ config(materialized='seg3a_table', meta={'seg3a_phase': 's4_zone_counts'}) }}
-- depends_on: {{ ref('int_s5__inputs_verified') }}
-- One summary row once S4 covers exactly the escalated pairs over Z(c) and conserves
-- every pair's outlets (spec 04 §1.2). The first failing check, in the spec's order,
-- raises E3A_S5_003_DOMAIN_MISMATCH with the three domain counts and a sample key.
{#- A pair's first tzid outside Z(c) in the sample order (tzid nulls first), as an aggregate
    over rows flagged outside_universe; null when the pair has none. #}
{%- set first_tzid_outside -%}
case
            when bool_or(tzid is null) filter (where outside_universe) then null
            else min(tzid) filter (where outside_universe)
        end
{%- endset %}
with

s1_escalation_queue as (
    select
        merchant_id,
        legal_country_iso,
        site_count,
        is_escalated
    from {{ ref('s1_escalation_queue') }}
),

s2_country_zone_priors as (
    select
        country_iso,
        tzid
    from {{ ref('s2_country_zone_priors') }}
),

s3_zone_shares as (
    select
        merchant_id,
        legal_country_iso,
        tzid
    from {{ ref('s3_zone_shares') }}
),

s4_zone_counts as (
    select
        merchant_id,
        legal_country_iso,
        tzid,
        zone_site_count,
        zone_site_count_sum
    from {{ ref('s4_zone_counts') }}
),

universe_zones as (
    select distinct
        country_iso,
        tzid
    from s2_country_zone_priors
),

universe_zones_counted as (
    select
        country_iso,
        count(*) as zone_count
    from universe_zones
    group by country_iso
),

escalated_pairs as (
    select distinct
        merchant_id,
        legal_country_iso
    from s1_escalation_queue
    where is_escalated
),

-- Duplicate keys are looked for by grouping only when one streaming pass does not find
-- the keys strictly increasing (which proves them unique): S1 and S4 store their rows in
-- key order, and the grouped count over every S4 triplet was most of this model's cost.
-- The groupings read the relations by scans of their own: a CTE read more than once is
-- materialised (every row of S4 at 10M pairs, spilling under the memory limit).
s1_pairs_ordered as (
    {{ seg3a_keys_strictly_increasing(ref('s1_escalation_queue'), ['merchant_id', 'legal_country_iso']) }}
),

s4_triplets_ordered as (
    {{ seg3a_keys_strictly_increasing(ref('s4_zone_counts'), ['merchant_id', 'legal_country_iso', 'tzid']) }}
),

s1_pairs_duplicated as (
    select
        merchant_id,
        legal_country_iso
    from {{ ref('s1_escalation_queue') }}
    where not (select keys_strictly_increasing from s1_pairs_ordered)
    group by merchant_id, legal_country_iso
    having count(*) > 1
),

s4_triplets_duplicated as (
    select
        merchant_id,
        legal_country_iso,
        tzid
    from {{ ref('s4_zone_counts') }}
    where not (select keys_strictly_increasing from s4_triplets_ordered)
    group by merchant_id, legal_country_iso, tzid
    having count(*) > 1
),

-- S4's and S3's zone rows are read once each and reduced to one row per pair; a row
-- outside Z(c) (no universe row matches it, as in an anti join) is counted there, with
-- the pair's first such tzid in the spec's sample order (a null tzid first).
s4_rows_placed as (
    select
        s4_zone_counts.merchant_id,
        s4_zone_counts.legal_country_iso,
        s4_zone_counts.tzid,
        s4_zone_counts.zone_site_count,
        s4_zone_counts.zone_site_count_sum,
        universe_zones.tzid is null as outside_universe
    from s4_zone_counts
    left join universe_zones
        on s4_zone_counts.legal_country_iso = universe_zones.country_iso
        and s4_zone_counts.tzid = universe_zones.tzid
),

s4_pairs_summed as (
    select
        merchant_id,
        legal_country_iso,
        count(*) as zone_rows,
        sum(zone_site_count) as zone_site_count_total,
        -- "first row" is the writer-sort first, i.e. the smallest tzid of the pair
        arg_min(zone_site_count_sum, tzid) as zone_site_count_sum_first,
        count(*) filter (where outside_universe) as rows_outside_universe,
        {{ first_tzid_outside }} as tzid_outside_first
    from s4_rows_placed
    group by merchant_id, legal_country_iso
),

s3_rows_placed as (
    select
        s3_zone_shares.merchant_id,
        s3_zone_shares.legal_country_iso,
        s3_zone_shares.tzid,
        universe_zones.tzid is null as outside_universe
    from s3_zone_shares
    left join universe_zones
        on s3_zone_shares.legal_country_iso = universe_zones.country_iso
        and s3_zone_shares.tzid = universe_zones.tzid
),

s3_pairs_counted as (
    select
        merchant_id,
        legal_country_iso,
        count(*) as zone_rows,
        count(*) filter (where outside_universe) as rows_outside_universe,
        {{ first_tzid_outside }} as tzid_outside_first
    from s3_rows_placed
    group by merchant_id, legal_country_iso
),

escalated_pairs_missing as (
    select
        escalated_pairs.merchant_id,
        escalated_pairs.legal_country_iso
    from escalated_pairs
    anti join s4_pairs_summed
        on escalated_pairs.merchant_id = s4_pairs_summed.merchant_id
        and escalated_pairs.legal_country_iso = s4_pairs_summed.legal_country_iso
),

s4_pairs_unexpected as (
    select
        s4_pairs_summed.merchant_id,
        s4_pairs_summed.legal_country_iso
    from s4_pairs_summed
    anti join escalated_pairs
        on s4_pairs_summed.merchant_id = escalated_pairs.merchant_id
        and s4_pairs_summed.legal_country_iso = escalated_pairs.legal_country_iso
),

-- Per pair of S4 and of S3: its rows outside Z(c) and |rows(m,c) - |Z(c)||, an unknown
-- country having |Z| = 0
pairs_zones_compared as (
    select
        s4_pairs_summed.merchant_id,
        s4_pairs_summed.legal_country_iso,
        s4_pairs_summed.rows_outside_universe,
        s4_pairs_summed.tzid_outside_first,
        abs(s4_pairs_summed.zone_rows - coalesce(universe_zones_counted.zone_count, 0)) as deviation
    from s4_pairs_summed
    left join universe_zones_counted
        on s4_pairs_summed.legal_country_iso = universe_zones_counted.country_iso
    union all
    select
        s3_pairs_counted.merchant_id,
        s3_pairs_counted.legal_country_iso,
        s3_pairs_counted.rows_outside_universe,
        s3_pairs_counted.tzid_outside_first,
        abs(s3_pairs_counted.zone_rows - coalesce(universe_zones_counted.zone_count, 0)) as deviation
    from s3_pairs_counted
    left join universe_zones_counted
        on s3_pairs_counted.legal_country_iso = universe_zones_counted.country_iso
),

pairs_conservation_checked as (
    select
        s4_pairs_summed.merchant_id,
        s4_pairs_summed.legal_country_iso,
        coalesce(
            s4_pairs_summed.zone_site_count_total = s4_pairs_summed.zone_site_count_sum_first
            and s4_pairs_summed.zone_site_count_sum_first = s1_escalation_queue.site_count,
            false
        ) as conserved
    from s4_pairs_summed
    left join s1_escalation_queue
        on s4_pairs_summed.merchant_id = s1_escalation_queue.merchant_id
        and s4_pairs_summed.legal_country_iso = s1_escalation_queue.legal_country_iso
),

-- Offending keys by check (spec order), for the sample of the first failing check.
domain_offences as (
    select 1 as check_order, 'duplicate_key' as reason, merchant_id, legal_country_iso, null as tzid
    from s1_pairs_duplicated
    union all
    select 1, 'duplicate_key', merchant_id, legal_country_iso, tzid
    from s4_triplets_duplicated
    union all
    select 2, 'pair_set_mismatch', merchant_id, legal_country_iso, null
    from escalated_pairs_missing
    union all
    select 2, 'pair_set_mismatch', merchant_id, legal_country_iso, null
    from s4_pairs_unexpected
    union all
    select 3, 'zone_domain_mismatch', merchant_id, legal_country_iso, tzid_outside_first
    from pairs_zones_compared
    where rows_outside_universe > 0
    union all
    select 3, 'zone_domain_mismatch', merchant_id, legal_country_iso, null
    from pairs_zones_compared
    where deviation > 0
    union all
    select 4, 'count_conservation', merchant_id, legal_country_iso, null
    from pairs_conservation_checked
    where not conserved
),

first_offence as (
    select
        check_order,
        reason,
        merchant_id,
        legal_country_iso,
        tzid
    from domain_offences
    order by check_order, merchant_id, legal_country_iso, tzid nulls first
    limit 1
),

domain_summary as (
    select
        (select count(*) from s1_escalation_queue) as pairs_total,
        (select count(*) from escalated_pairs) as pairs_escalated,
        (select cast(coalesce(sum(zone_rows), 0) as bigint) from s4_pairs_summed) as zone_rows_total,
        (select count(*) from s1_pairs_duplicated) as s1_duplicate_pairs_count,
        (select count(*) from s4_triplets_duplicated) as s4_duplicate_triplets_count,
        (select count(*) from escalated_pairs_missing) as missing_escalated_pairs_count,
        (select count(*) from s4_pairs_unexpected) as unexpected_pairs_count,
        (select coalesce(sum(rows_outside_universe + deviation), 0) from pairs_zones_compared)
            as affected_zone_triplets_count,
        (select count(*) from pairs_conservation_checked where not conserved) as pairs_count_conservation_violations
),

domain_guarded as (
    select
        domain_summary.pairs_total,
        domain_summary.pairs_escalated,
        domain_summary.zone_rows_total,
        domain_summary.missing_escalated_pairs_count,
        domain_summary.unexpected_pairs_count,
        cast(domain_summary.affected_zone_triplets_count as bigint) as affected_zone_triplets_count,
        domain_summary.pairs_count_conservation_violations,
        case
            when first_offence.check_order is not null then error(
                'E3A_S5_003_DOMAIN_MISMATCH: ' || first_offence.reason || ' between S1, S2, S3 and S4'
                || ' | phase=s4_zone_counts | context='
                || json_object(
                    'reason', first_offence.reason,
                    'missing_escalated_pairs_count', domain_summary.missing_escalated_pairs_count,
                    'unexpected_pairs_count', domain_summary.unexpected_pairs_count,
                    'affected_zone_triplets_count', domain_summary.affected_zone_triplets_count,
                    'pairs_count_conservation_violations', domain_summary.pairs_count_conservation_violations,
                    's1_duplicate_pairs_count', domain_summary.s1_duplicate_pairs_count,
                    's4_duplicate_triplets_count', domain_summary.s4_duplicate_triplets_count,
                    'sample_merchant_id', first_offence.merchant_id,
                    'sample_country_iso', first_offence.legal_country_iso,
                    'sample_tzid', first_offence.tzid
                )::varchar
            )
            else true
        end as passed
    from domain_summary
    left join first_offence
        on true
)

select * from domain_guarded
