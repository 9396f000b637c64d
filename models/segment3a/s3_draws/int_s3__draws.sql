{{ config(materialized='seg3a_table', meta={'seg3a_phase': 'sampling', 'seg3a_engine': 'spark'}) }}
-- One row per escalated pair: the Dirichlet draw of spec 03 §1.9 and §3.3-§3.4 through
-- the s3a_dirichlet_draw UDF (event fields, S, share_sum, shares in tzid order), checked
-- against the country's tzids. Pairs reach the UDF in small chunks; DuckDB hands it up to 2048
-- chunks per call and all pairs of a call are one sampler call, so the sampler sees
-- batches of thousands of pairs while Python never holds more than about
-- 2048 x `s3_batch_pairs` pairs (default 16: ~32k pairs, tens of MB) whatever the world's
-- size. A chunk is the pairs whose merchant_id falls in one residue class, so forming
-- chunks needs no sort. Each pair owns its Philox substream, so its result depends only
-- on its key: `s3_batch_pairs` (about the pairs per chunk) and `s3_shard_count`
-- (merchant_id % n shards that never share a chunk) change no bit of the output (they
-- exist so tests can prove it). Both are dbt vars, with the environment variables
-- SEG3A_S3_BATCH_PAIRS / SEG3A_S3_SHARD_COUNT as defaults. Checks of §1.10 and §3.4
-- step 4 come last.
{%- set shard_count = var('s3_shard_count', env_var('SEG3A_S3_SHARD_COUNT', '1')) | int %}
{%- set batch_pairs = var('s3_batch_pairs', env_var('SEG3A_S3_BATCH_PAIRS', '16')) | int %}
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
        alphas
    from {{ ref('int_s3__pairs_with_alpha') }}
),

s2_country_zone_priors as (
    select
        country_iso,
        tzid
    from {{ ref('s2_country_zone_priors') }}
),

country_zones_listed as (
    {{ seg3a_country_tzids_listed('s2_country_zone_priors') }}
),

-- The zone check needs each country's number of tzids only: the rows below are read
-- twice (the checks, then the stored rows), so DuckDB materialises them, and a tzid list
-- on every pair made that copy several times wider.
country_zones_counted as (
    select
        country_iso,
        {{ seg3a_len('tzids') }} as zone_count_country
    from country_zones_listed
),

chunks_counted as (
    select {{ seg3a_cast('greatest(1, ceil(count(*) / ' ~ batch_pairs ~ '))', 'ubigint') }} as chunk_count
    from int_s3__pairs_with_alpha
),

pairs_chunked as (
    select
        int_s3__pairs_with_alpha.merchant_id % {{ shard_count }} as shard,
        {{ seg3a_int_div('int_s3__pairs_with_alpha.merchant_id', shard_count) }} % chunks_counted.chunk_count as chunk_index,
        {{ seg3a_struct(
            "'merchant_id'", 'int_s3__pairs_with_alpha.merchant_id',
            "'legal_country_iso'", 'int_s3__pairs_with_alpha.legal_country_iso',
            "'alphas'", 'int_s3__pairs_with_alpha.alphas'
        ) }} as pair
    from int_s3__pairs_with_alpha
    cross join chunks_counted
),

chunks_listed as (
    -- One list of structs per chunk keeps each pair's fields together; the order of
    -- pairs inside a chunk does not matter.
    select
        shard,
        chunk_index,
        {{ seg3a_list('pair') }} as pairs
    from pairs_chunked
    group by shard, chunk_index
),

chunks_drawn as (
    select
        s3a_dirichlet_draw(
            chunks_listed.pairs,
            rng_audit_log.manifest_fingerprint, rng_audit_log.seed, rng_audit_log.parameter_hash,
            int_s3__dispersion_policy.enabled, int_s3__dispersion_policy.concentration_scale,
            int_s3__dispersion_policy.alpha_temperature, int_s3__dispersion_policy.merchant_jitter,
            int_s3__dispersion_policy.merchant_jitter_clip, int_s3__dispersion_policy.alpha_floor
        ) as draws
    from chunks_listed
    cross join rng_audit_log
    cross join int_s3__dispersion_policy
),

pairs_drawn as (
    select {{ seg3a_unnest('draws') }} as draw
    from chunks_drawn
),

draws_flattened as (
    select
        pairs_drawn.draw.merchant_id as merchant_id,
        pairs_drawn.draw.legal_country_iso as legal_country_iso,
        country_zones_counted.zone_count_country,
        pairs_drawn.draw.rng_stream_id as rng_stream_id,
        pairs_drawn.draw.rng_counter_before_hi as rng_counter_before_hi,
        pairs_drawn.draw.rng_counter_before_lo as rng_counter_before_lo,
        pairs_drawn.draw.rng_counter_after_hi as rng_counter_after_hi,
        pairs_drawn.draw.rng_counter_after_lo as rng_counter_after_lo,
        pairs_drawn.draw.blocks as blocks,
        pairs_drawn.draw.draws as draws,
        pairs_drawn.draw.zone_count as zone_count,
        pairs_drawn.draw.alpha_sum_country as alpha_sum_country,
        pairs_drawn.draw.alpha_min as alpha_min,
        pairs_drawn.draw.alpha_max as alpha_max,
        pairs_drawn.draw.gamma_sum as gamma_sum,
        pairs_drawn.draw.share_sum as share_sum,
        pairs_drawn.draw.shares as shares
    from pairs_drawn
    left join country_zones_counted
        on pairs_drawn.draw.legal_country_iso = country_zones_counted.country_iso
),

draws_assessed as (
    select
        merchant_id,
        legal_country_iso,
        coalesce(
            zone_count_country is not null and zone_count = zone_count_country
            and {{ seg3a_len('shares') }} = zone_count_country, false
        ) as zones_consistent,
        coalesce(
            {{ seg3a_u128_advanced(
                'rng_counter_before_hi', 'rng_counter_before_lo', 'blocks', 'rng_counter_after_hi', 'rng_counter_after_lo'
            ) }}, false
        ) as envelope_consistent,
        coalesce(
            {{ seg3a_isfinite('gamma_sum') }} and gamma_sum > 0
            and {{ seg3a_isfinite('share_sum') }} and share_sum > 0 and abs(share_sum - 1.0) <= 1e-12
            and {{ seg3a_list_min('shares') }} >= 0 and {{ seg3a_list_max('shares') }} <= 1, false
        ) as shares_consistent
    from draws_flattened
),

draws_guard as (
    select
        case
            when count(*) filter (where not zones_consistent) > 0 then {{ seg3a_raise(
                "'E3A_S3_005_DOMAIN_MISMATCH_S2: zone count of a draw differs from |Z(c)|'
                || ' | phase=sampling | context=' || " ~ seg3a_s3_failure_context('zone_count_mismatch', 'zones_consistent')
            ) }}
            when count(*) filter (where not envelope_consistent) > 0 then {{ seg3a_raise(
                "'E3A_S3_007_RNG_ACCOUNTING_BROKEN: counter delta differs from the blocks counted'
                || ' | phase=sampling | context=' || " ~ seg3a_s3_failure_context('invalid_envelope', 'envelope_consistent')
            ) }}
            when count(*) filter (where not shares_consistent) > 0 then {{ seg3a_raise(
                "'E3A_S3_010_OUTPUT_INCONSISTENT: gamma sum, share sum or a share out of range'
                || ' | phase=sampling | context=' || " ~ seg3a_s3_failure_context('share_sum_mismatch', 'shares_consistent')
            ) }}
            else true
        end as passed
    from draws_assessed
),

draws_checked as (
    -- The zone counts served the zone check only: s3_zone_shares takes the tzids from
    -- int_s3__country_zone_lists (a list per pair made this table's sort and write
    -- about twice as costly).
    select
        draws_flattened.merchant_id,
        draws_flattened.legal_country_iso,
        draws_flattened.rng_stream_id,
        draws_flattened.rng_counter_before_hi,
        draws_flattened.rng_counter_before_lo,
        draws_flattened.rng_counter_after_hi,
        draws_flattened.rng_counter_after_lo,
        draws_flattened.blocks,
        draws_flattened.draws,
        draws_flattened.zone_count,
        draws_flattened.alpha_sum_country,
        draws_flattened.alpha_min,
        draws_flattened.alpha_max,
        draws_flattened.gamma_sum,
        draws_flattened.share_sum,
        draws_flattened.shares
    from draws_flattened
    inner join draws_guard on draws_guard.passed
)

select * from draws_checked
order by merchant_id, legal_country_iso

