{{ config(materialized='view', meta={'seg3a_phase': 'zone_alloc_build', 'seg3a_engine': 'spark'}) }}
-- depends_on: {{ ref('int_s5__domain_checked') }}
-- The zone_alloc frame with routing_universe_hash masked to 64 zeros (spec 04 §1.3,
-- steps 1-4): exactly the S4 rows, site_count from the escalated S1 pair, the four
-- policy columns, contract types and order, rows in writer sort. The component digest
-- is taken over a PWP write of these rows.
with

s4_zone_counts as (
    select
        merchant_id,
        legal_country_iso,
        tzid,
        zone_site_count,
        zone_site_count_sum,
        alpha_sum_country
    from {{ ref('s4_zone_counts') }}
),

s1_escalation_queue as (
    select
        merchant_id,
        legal_country_iso,
        site_count
    from {{ ref('s1_escalation_queue') }}
    where is_escalated
),

int_s5__inputs_verified as (
    select
        logical_id,
        policy_id,
        policy_version
    from {{ ref('int_s5__inputs_verified') }}
),

policy_columns as (
    select
        max(policy_id) filter (where logical_id = 'zone_mixture_policy') as mixture_policy_id,
        max(policy_version) filter (where logical_id = 'zone_mixture_policy') as mixture_policy_version,
        max(policy_id) filter (where logical_id = 'day_effect_policy_v1') as day_effect_policy_id,
        max(policy_version) filter (where logical_id = 'day_effect_policy_v1') as day_effect_policy_version
    from int_s5__inputs_verified
),

-- The lineage S4 writes on every row (its run constants): one value per column. Read by
-- scans of their own rather than from s4_zone_counts above: a CTE read twice is
-- materialised, every selected column of every row. One tuple of values is proven by
-- each column's min and max (and no column mixing nulls with values); the distinct
-- tuples are grouped and counted only when a column does vary, for the error.
{%- set lineage = ['seed', 'manifest_fingerprint', 'prior_pack_id', 'prior_pack_version', 'floor_policy_id',
                   'floor_policy_version'] %}
s4_lineage_spread as (
    select
        {%- for column in lineage %}
        min({{ column }}) as {{ column }},
        {%- endfor %}
        {% for column in lineage -%}
        min({{ column }}) <> max({{ column }}) or count({{ column }}) not in (0, count(*))
        {{- '' if loop.last else '\n        or ' }}
        {%- endfor %} as lineage_varies
    from {{ ref('s4_zone_counts') }}
),

s4_lineages_counted as (
    select count(*) as lineages_count
    from (
        select distinct
            {{ lineage | join(',\n            ') }}
        from {{ ref('s4_zone_counts') }}
        where (select lineage_varies from s4_lineage_spread)
    ) as lineages
),

s4_lineage as (
    select
        case
            when s4_lineage_spread.lineage_varies then {{ seg3a_raise(
                "'E3A_S5_003_DOMAIN_MISMATCH: S4 rows carry more than one lineage'
                || ' | phase=zone_alloc_build | context='
                || " ~ seg3a_json_object("'reason'", "'lineage_not_unique'", "'lineages_count'",
                                         's4_lineages_counted.lineages_count')
            ) }}
            else s4_lineage_spread.seed
        end as seed,
        {%- for column in lineage[1:] %}
        s4_lineage_spread.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from s4_lineage_spread
    cross join s4_lineages_counted
),

-- Only the columns that vary per row are sorted: sorting the 19-column frame (64-character
-- hashes on every row) spilled to disk at 1M pairs under a 2 GB memory limit.
counts_with_site_count as (
    select
        s4_zone_counts.merchant_id,
        s4_zone_counts.legal_country_iso,
        s4_zone_counts.tzid,
        s4_zone_counts.zone_site_count,
        s4_zone_counts.zone_site_count_sum,
        case
            when s1_escalation_queue.site_count is null then {{ seg3a_raise(
                "'E3A_S5_003_DOMAIN_MISMATCH: an S4 pair has no escalated S1 pair'
                || ' | phase=zone_alloc_build | context='
                || " ~ seg3a_json_object(
                    "'reason'", "'site_count_missing'",
                    "'missing_escalated_pairs_count'", '0',
                    "'unexpected_pairs_count'", '1',
                    "'affected_zone_triplets_count'", '0',
                    "'sample_merchant_id'", 's4_zone_counts.merchant_id',
                    "'sample_country_iso'", 's4_zone_counts.legal_country_iso',
                    "'sample_tzid'", 's4_zone_counts.tzid'
                )
            ) }}
            else s1_escalation_queue.site_count
        end as site_count,
        s4_zone_counts.alpha_sum_country
    from s4_zone_counts
    left join s1_escalation_queue
        on s4_zone_counts.merchant_id = s1_escalation_queue.merchant_id
        and s4_zone_counts.legal_country_iso = s1_escalation_queue.legal_country_iso
    order by
        s4_zone_counts.merchant_id,
        s4_zone_counts.legal_country_iso,
        s4_zone_counts.tzid
),

-- The run constants enter as scalar subqueries over one-row relations, not by a join:
-- a select over the ordered rows keeps their order (DuckDB's order preservation), so
-- the frame comes in writer sort without sorting its wide columns.
zone_alloc_masked as (
    select
        {{ seg3a_cast('(select seed from s4_lineage)', 'ubigint') }} as seed,
        {{ seg3a_cast('(select manifest_fingerprint from s4_lineage)', 'varchar') }} as manifest_fingerprint,
        {{ seg3a_cast('counts_with_site_count.merchant_id', 'ubigint') }} as merchant_id,
        {{ seg3a_cast('counts_with_site_count.legal_country_iso', 'varchar') }} as legal_country_iso,
        {{ seg3a_cast('counts_with_site_count.tzid', 'varchar') }} as tzid,
        {{ seg3a_cast('counts_with_site_count.zone_site_count', 'bigint') }} as zone_site_count,
        {{ seg3a_cast('counts_with_site_count.zone_site_count_sum', 'bigint') }} as zone_site_count_sum,
        {{ seg3a_cast('counts_with_site_count.site_count', 'uinteger') }} as site_count,
        {{ seg3a_cast('(select prior_pack_id from s4_lineage)', 'varchar') }} as prior_pack_id,
        {{ seg3a_cast('(select prior_pack_version from s4_lineage)', 'varchar') }} as prior_pack_version,
        {{ seg3a_cast('(select floor_policy_id from s4_lineage)', 'varchar') }} as floor_policy_id,
        {{ seg3a_cast('(select floor_policy_version from s4_lineage)', 'varchar') }} as floor_policy_version,
        (select mixture_policy_id from policy_columns) as mixture_policy_id,
        (select mixture_policy_version from policy_columns) as mixture_policy_version,
        (select day_effect_policy_id from policy_columns) as day_effect_policy_id,
        (select day_effect_policy_version from policy_columns) as day_effect_policy_version,
        repeat('0', 64) as routing_universe_hash,
        {{ seg3a_cast('counts_with_site_count.alpha_sum_country', 'double') }} as alpha_sum_country,
        {{ seg3a_cast('null', 'varchar') }} as notes
    from counts_with_site_count
)

select * from zone_alloc_masked
