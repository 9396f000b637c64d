{{ config(materialized='seg3a_table', meta={'seg3a_phase': 's3_zone_shares'}) }}
-- One row (passed = true) once the S3 shares agree with S1 and S2 (spec 03 §4.1 item 5,
-- §4.2 steps 1-3), checked in this order: the key (merchant_id, legal_country_iso,
-- tzid) is unique (E3A_S4_004); the S3 pair set equals D_esc (E3A_S4_003); lineage
-- single-valued and equal to S2's (E3A_S4_007 lineage_inconsistent); each pair's tzids
-- equal Z_ord(c) (E3A_S4_004 zone_set_mismatch); share_sum_country single-valued,
-- finite, > 0, within 1e-12 of 1 and of csum of the shares (E3A_S4_007
-- share_sum_inconsistent); shares finite in [0, 1] (E3A_S4_007 integerisation_mismatch).
-- Key uniqueness, csum and share values come from the streamed pass of
-- int_s4__share_sums_measured; one aggregate per pair serves the other checks, the
-- share rows read once (a CTE read twice is materialised: every share row, spilling
-- under the memory limit at 10M pairs).
{%- set lineage = ['prior_pack_id', 'prior_pack_version', 'floor_policy_id', 'floor_policy_version'] %}
with

int_s4__share_sums_measured as (
    select
        duplicate_keys_found,
        duplicate_key_sample,
        share_sum_mismatch_pairs,
        share_sum_mismatch_sample,
        share_invalid_pairs,
        share_invalid_sample
    from {{ ref('int_s4__share_sums_measured') }}
),

s3_zone_shares as (
    select
        merchant_id,
        legal_country_iso,
        tzid,
        share_sum_country
    from {{ ref('s3_zone_shares') }}
),

-- The lineage columns by a scan of their own: four strings more on every row of the
-- per-pair aggregate's input would cost more than this scan.
s3_zone_shares_lineage as (
    select
        {{ lineage | join(',\n        ') }}
    from {{ ref('s3_zone_shares') }}
),

s1_escalation_queue as (
    select
        merchant_id,
        legal_country_iso
    from {{ ref('s1_escalation_queue') }}
    where is_escalated
),

s2_country_zone_priors as (
    select
        country_iso,
        tzid,
        {{ lineage | join(',\n        ') }}
    from {{ ref('s2_country_zone_priors') }}
),

prior_zones as (
    select distinct
        country_iso,
        tzid
    from s2_country_zone_priors
),

-- A share row whose (country, tzid) no S2 row holds (as in an anti join) is foreign.
share_rows_placed as (
    select
        s3_zone_shares.merchant_id,
        s3_zone_shares.legal_country_iso,
        s3_zone_shares.share_sum_country,
        prior_zones.tzid is null as zone_foreign
    from s3_zone_shares
    left join prior_zones
        on s3_zone_shares.legal_country_iso = prior_zones.country_iso
        and s3_zone_shares.tzid = prior_zones.tzid
),

share_pairs_summarised as (
    select
        merchant_id,
        legal_country_iso,
        count(*) as zone_count,
        min(share_sum_country) as share_sum_country,
        max(share_sum_country) as share_sum_country_max,
        bool_or(zone_foreign) as zone_foreign_found
    from share_rows_placed
    group by merchant_id, legal_country_iso
),

pairs_missing as (
    select
        s1_escalation_queue.merchant_id,
        s1_escalation_queue.legal_country_iso
    from s1_escalation_queue
    anti join share_pairs_summarised
        on s1_escalation_queue.merchant_id = share_pairs_summarised.merchant_id
        and s1_escalation_queue.legal_country_iso = share_pairs_summarised.legal_country_iso
),

pairs_unexpected as (
    select
        share_pairs_summarised.merchant_id,
        share_pairs_summarised.legal_country_iso
    from share_pairs_summarised
    anti join s1_escalation_queue
        on share_pairs_summarised.merchant_id = s1_escalation_queue.merchant_id
        and share_pairs_summarised.legal_country_iso = s1_escalation_queue.legal_country_iso
),

share_lineage as (
    select
        {%- for field in lineage %}
        min({{ field }}) as {{ field }}_min,
        max({{ field }}) as {{ field }}_max{{ ',' if not loop.last }}
        {%- endfor %}
    from s3_zone_shares_lineage
),

prior_lineage as (
    select
        {%- for field in lineage %}
        min({{ field }}) as {{ field }}{{ ',' if not loop.last }}
        {%- endfor %}
    from s2_country_zone_priors
),

lineage_compared as (
    select
        concat_ws(','
        {%- for field in lineage %},
            -- No share rows (no escalated pair): nothing to compare.
            case
                when share_lineage.{{ field }}_min is not null
                    and (share_lineage.{{ field }}_min is distinct from share_lineage.{{ field }}_max
                        or share_lineage.{{ field }}_min is distinct from prior_lineage.{{ field }})
                    then '{{ field }}'
            end
        {%- endfor %}
        ) as fields_inconsistent
    from share_lineage
    cross join prior_lineage
),

zones_foreign as (
    select
        merchant_id,
        legal_country_iso
    from share_pairs_summarised
    where zone_foreign_found
),

country_zone_counts as (
    select
        country_iso,
        count(*) as zone_count
    from s2_country_zone_priors
    group by country_iso
),

pairs_assessed as (
    select
        share_pairs_summarised.merchant_id,
        share_pairs_summarised.legal_country_iso,
        share_pairs_summarised.zone_count = coalesce(country_zone_counts.zone_count, 0) as zone_count_matches,
        share_pairs_summarised.share_sum_country = share_pairs_summarised.share_sum_country_max
        and isfinite(share_pairs_summarised.share_sum_country)
        and share_pairs_summarised.share_sum_country > 0
        and abs(share_pairs_summarised.share_sum_country - 1.0) <= 1e-12 as share_sum_valid
    from share_pairs_summarised
    left join country_zone_counts
        on share_pairs_summarised.legal_country_iso = country_zone_counts.country_iso
),

zone_set_mismatches as (
    select
        merchant_id,
        legal_country_iso
    from zones_foreign
    union
    select
        merchant_id,
        legal_country_iso
    from pairs_assessed
    where not zone_count_matches
),

consistency_guard as (
    select
        case
            when (select duplicate_keys_found from int_s4__share_sums_measured) then error(
                'E3A_S4_004_DOMAIN_MISMATCH_ZONES: s3_zone_shares holds a (merchant_id, legal_country_iso, tzid) key twice'
                || ' | phase=s3_zone_shares | context='
                || json_object(
                    'reason', 'duplicate_share_rows',
                    'sample_key', json((select duplicate_key_sample from int_s4__share_sums_measured))
                )::varchar
            )
            when (select count(*) from pairs_missing) + (select count(*) from pairs_unexpected) > 0 then error(
                'E3A_S4_003_DOMAIN_MISMATCH_S1: the S3 pair set differs from the escalated pairs of S1'
                || ' | phase=s3_zone_shares | context='
                || json_object(
                    'reason', 'pair_set_mismatch',
                    'missing_escalated_pairs_count', (select count(*) from pairs_missing),
                    'unexpected_pairs_count', (select count(*) from pairs_unexpected),
                    'sample_missing_pairs', coalesce((
                        select list({'merchant_id': merchant_id, 'legal_country_iso': legal_country_iso}
                            order by merchant_id, legal_country_iso)[1:3]
                        from pairs_missing), []),
                    'sample_unexpected_pairs', coalesce((
                        select list({'merchant_id': merchant_id, 'legal_country_iso': legal_country_iso}
                            order by merchant_id, legal_country_iso)[1:3]
                        from pairs_unexpected), [])
                )::varchar
            )
            when (select fields_inconsistent from lineage_compared) <> '' then error(
                'E3A_S4_007_OUTPUT_INCONSISTENT: s3_zone_shares lineage differs from S2 or is not single-valued'
                || ' | phase=s3_zone_shares | context='
                || json_object(
                    'reason', 'lineage_inconsistent',
                    'field', split_part((select fields_inconsistent from lineage_compared), ',', 1)
                )::varchar
            )
            when (select count(*) from zone_set_mismatches) > 0 then error(
                'E3A_S4_004_DOMAIN_MISMATCH_ZONES: a pair''s S3 tzids differ from Z(c) of S2'
                || ' | phase=s3_zone_shares | context='
                || json_object(
                    'reason', 'zone_set_mismatch',
                    'affected_pairs_count', (select count(*) from zone_set_mismatches),
                    'sample_pairs', (
                        select list({'merchant_id': merchant_id, 'legal_country_iso': legal_country_iso}
                            order by merchant_id, legal_country_iso)[1:3]
                        from zone_set_mismatches)
                )::varchar
            )
            when (select count(*) from pairs_assessed where not share_sum_valid) > 0 then error(
                'E3A_S4_007_OUTPUT_INCONSISTENT: share_sum_country not single-valued, finite, positive and within 1e-12 of 1'
                || ' | phase=s3_zone_shares | context='
                || json_object(
                    'reason', 'share_sum_inconsistent',
                    'affected_pairs_count', (select count(*) from pairs_assessed where not share_sum_valid),
                    'sample_pairs', (
                        select list({'merchant_id': merchant_id, 'legal_country_iso': legal_country_iso}
                            order by merchant_id, legal_country_iso)[1:3]
                        from pairs_assessed where not share_sum_valid)
                )::varchar
            )
            when (select share_sum_mismatch_pairs from int_s4__share_sums_measured) > 0 then error(
                'E3A_S4_007_OUTPUT_INCONSISTENT: share_sum_country not within 1e-12 of csum of the shares'
                || ' | phase=s3_zone_shares | context='
                || json_object(
                    'reason', 'share_sum_inconsistent',
                    'affected_pairs_count', (select share_sum_mismatch_pairs from int_s4__share_sums_measured),
                    'sample_pairs', json((select share_sum_mismatch_sample from int_s4__share_sums_measured))
                )::varchar
            )
            when (select share_invalid_pairs from int_s4__share_sums_measured) > 0 then error(
                'E3A_S4_007_OUTPUT_INCONSISTENT: a share is non-finite or outside [0, 1]'
                || ' | phase=s3_zone_shares | context='
                || json_object(
                    'reason', 'integerisation_mismatch',
                    'affected_pairs_count', (select share_invalid_pairs from int_s4__share_sums_measured),
                    'sample_pairs', json((select share_invalid_sample from int_s4__share_sums_measured))
                )::varchar
            )
            else true
        end as passed
)

select passed from consistency_guard
