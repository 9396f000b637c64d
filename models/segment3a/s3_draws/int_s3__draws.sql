{{ config(materialized='table', meta={'seg3a_phase': 'sampling'}) }}
-- One row per escalated pair: the Dirichlet draw of spec 03 §1.9 and §3.3-§3.4 through
-- the s3a_dirichlet_draw UDF (event fields, S, share_sum, shares in tzid order).
-- Each pair owns its Philox substream, so the result of a row depends only on its key:
-- `s3_shard_count` splits D_esc into merchant_id % n shards drawn by separate UDF calls
-- and `s3_batch_pairs` sets the pairs per sampler call; neither changes a bit of the
-- output (they exist so tests can prove it). Both are dbt vars, with the environment
-- variables SEG3A_S3_SHARD_COUNT / SEG3A_S3_BATCH_PAIRS as defaults. Checks of §1.10
-- and §3.4 step 4 come last.
{%- set shard_count = var('s3_shard_count', env_var('SEG3A_S3_SHARD_COUNT', '1')) | int %}
{%- set batch_pairs = var('s3_batch_pairs', env_var('SEG3A_S3_BATCH_PAIRS', '2048')) | int %}
{%- if shard_count < 1 or batch_pairs < 1 -%}
    {{ exceptions.raise_compiler_error('E3A_S3_012_INFRASTRUCTURE_IO_ERROR: s3_shard_count and s3_batch_pairs must be >= 1') }}
{%- endif %}
with

rng_audit_log as (
    select
        manifest_fingerprint,
        seed,
        parameter_hash
    from {{ ref('rng_audit_log') }}
),

int_s3__dispersion_policy as (
    select
        enabled,
        concentration_scale,
        alpha_temperature,
        merchant_jitter,
        merchant_jitter_clip,
        alpha_floor
    from {{ ref('int_s3__dispersion_policy') }}
),

int_s3__pairs_with_alpha as (
    select
        merchant_id,
        legal_country_iso,
        tzids,
        alphas
    from {{ ref('int_s3__pairs_with_alpha') }}
),

pairs_with_run_parameters as (
    select
        int_s3__pairs_with_alpha.merchant_id,
        int_s3__pairs_with_alpha.legal_country_iso,
        int_s3__pairs_with_alpha.tzids,
        int_s3__pairs_with_alpha.alphas,
        rng_audit_log.manifest_fingerprint,
        rng_audit_log.seed,
        rng_audit_log.parameter_hash,
        int_s3__dispersion_policy.enabled,
        int_s3__dispersion_policy.concentration_scale,
        int_s3__dispersion_policy.alpha_temperature,
        int_s3__dispersion_policy.merchant_jitter,
        int_s3__dispersion_policy.merchant_jitter_clip,
        int_s3__dispersion_policy.alpha_floor
    from int_s3__pairs_with_alpha
    cross join rng_audit_log
    cross join int_s3__dispersion_policy
),
{% for shard in range(shard_count) %}
shard_{{ shard }}_drawn as (
    select
        merchant_id,
        legal_country_iso,
        tzids,
        s3a_dirichlet_draw(
            merchant_id, legal_country_iso, alphas, manifest_fingerprint, seed, parameter_hash,
            enabled, concentration_scale, alpha_temperature, merchant_jitter, merchant_jitter_clip,
            alpha_floor, {{ batch_pairs }}
        ) as draw
    from pairs_with_run_parameters
    where merchant_id % {{ shard_count }} = {{ shard }}
),
{% endfor %}
pairs_drawn as (
{%- for shard in range(shard_count) %}
    select
        merchant_id,
        legal_country_iso,
        tzids,
        draw
    from shard_{{ shard }}_drawn
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
),

draws_flattened as (
    select
        merchant_id,
        legal_country_iso,
        tzids,
        draw.rng_stream_id as rng_stream_id,
        draw.rng_counter_before_hi as rng_counter_before_hi,
        draw.rng_counter_before_lo as rng_counter_before_lo,
        draw.rng_counter_after_hi as rng_counter_after_hi,
        draw.rng_counter_after_lo as rng_counter_after_lo,
        draw.blocks as blocks,
        draw.draws as draws,
        draw.zone_count as zone_count,
        draw.alpha_sum_country as alpha_sum_country,
        draw.alpha_min as alpha_min,
        draw.alpha_max as alpha_max,
        draw.gamma_sum as gamma_sum,
        draw.share_sum as share_sum,
        draw.shares as shares
    from pairs_drawn
),

draws_assessed as (
    select
        merchant_id,
        legal_country_iso,
        zone_count = len(tzids) and len(shares) = len(tzids) as zones_consistent,
        ((cast(rng_counter_after_hi as uhugeint) << 64) | cast(rng_counter_after_lo as uhugeint))
        = ((cast(rng_counter_before_hi as uhugeint) << 64) | cast(rng_counter_before_lo as uhugeint))
        + cast(blocks as uhugeint) as envelope_consistent,
        isfinite(gamma_sum) and gamma_sum > 0
        and isfinite(share_sum) and share_sum > 0 and abs(share_sum - 1.0) <= 1e-12
        and list_min(shares) >= 0 and list_max(shares) <= 1 as shares_consistent
    from draws_flattened
),

draws_guard as (
    select
        case
            when count(*) filter (where not zones_consistent) > 0 then error(
                'E3A_S3_005_DOMAIN_MISMATCH_S2: zone count of a draw differs from |Z(c)|'
                || ' | phase=sampling | context='
                || json_object(
                    'reason', 'zone_count_mismatch',
                    'affected_pairs_count', count(*) filter (where not zones_consistent),
                    'sample_pair', min({'merchant_id': merchant_id, 'legal_country_iso': legal_country_iso})
                        filter (where not zones_consistent)
                )::varchar
            )
            when count(*) filter (where not envelope_consistent) > 0 then error(
                'E3A_S3_007_RNG_ACCOUNTING_BROKEN: counter delta differs from the blocks counted'
                || ' | phase=sampling | context='
                || json_object(
                    'reason', 'invalid_envelope',
                    'affected_pairs_count', count(*) filter (where not envelope_consistent),
                    'sample_pair', min({'merchant_id': merchant_id, 'legal_country_iso': legal_country_iso})
                        filter (where not envelope_consistent)
                )::varchar
            )
            when count(*) filter (where not shares_consistent) > 0 then error(
                'E3A_S3_010_OUTPUT_INCONSISTENT: gamma sum, share sum or a share out of range'
                || ' | phase=sampling | context='
                || json_object(
                    'reason', 'share_sum_mismatch',
                    'affected_pairs_count', count(*) filter (where not shares_consistent),
                    'sample_pair', min({'merchant_id': merchant_id, 'legal_country_iso': legal_country_iso})
                        filter (where not shares_consistent)
                )::varchar
            )
            else true
        end as passed
    from draws_assessed
),

draws_checked as (
    select draws_flattened.*
    from draws_flattened
    inner join draws_guard on draws_guard.passed
)

select * from draws_checked
order by merchant_id, legal_country_iso
