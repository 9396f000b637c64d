{{ config(materialized='view') }}
-- One row per escalated pair with its rng_event_zone_dirichlet fields (spec 03 §2.1,
-- typed, named as the JSON keys) and the event and trace lines (§2.2) as written.
-- Trace totals are running sums in pair order (merchant_id, legal_country_iso),
-- saturating at 2^64 - 1; ts_utc is the run receipt's created_utc.
with

rng_audit_log as (
    select
        ts_utc,
        run_id,
        seed,
        parameter_hash,
        manifest_fingerprint
    from {{ ref('rng_audit_log') }}
),

int_s3__draws as (
    select
        merchant_id,
        legal_country_iso,
        rng_stream_id,
        rng_counter_before_hi,
        rng_counter_before_lo,
        rng_counter_after_hi,
        rng_counter_after_lo,
        blocks,
        draws,
        zone_count,
        alpha_sum_country,
        alpha_min,
        alpha_max
    from {{ ref('int_s3__draws') }}
),

events_described as (
    select
        int_s3__draws.merchant_id,
        int_s3__draws.legal_country_iso,
        int_s3__draws.alpha_max,
        int_s3__draws.alpha_min,
        int_s3__draws.alpha_sum_country,
        int_s3__draws.blocks,
        int_s3__draws.legal_country_iso as country_iso,
        int_s3__draws.draws,
        rng_audit_log.manifest_fingerprint,
        '3A.S3' as module,
        cast(null as varchar) as notes,
        rng_audit_log.parameter_hash,
        int_s3__draws.rng_counter_after_hi,
        int_s3__draws.rng_counter_after_lo,
        int_s3__draws.rng_counter_before_hi,
        int_s3__draws.rng_counter_before_lo,
        int_s3__draws.rng_stream_id,
        rng_audit_log.run_id,
        rng_audit_log.seed,
        'zone_dirichlet' as substream_label,
        rng_audit_log.ts_utc,
        int_s3__draws.zone_count
    from int_s3__draws
    cross join rng_audit_log
),

totals_accumulated as (
    select
        events_described.*,
        least(sum(cast(draws as hugeint)) over pair_order, 18446744073709551615) as draws_total,
        least(sum(blocks) over pair_order, 18446744073709551615) as blocks_total,
        row_number() over pair_order as events_total
    from events_described
    window pair_order as (
        order by merchant_id, legal_country_iso rows between unbounded preceding and current row
    )
),

lines_rendered as (
    select
        merchant_id,
        legal_country_iso,
        alpha_max,
        alpha_min,
        alpha_sum_country,
        blocks,
        country_iso,
        draws,
        manifest_fingerprint,
        module,
        notes,
        parameter_hash,
        rng_counter_after_hi,
        rng_counter_after_lo,
        rng_counter_before_hi,
        rng_counter_before_lo,
        rng_stream_id,
        run_id,
        seed,
        substream_label,
        ts_utc,
        zone_count,
        {{ seg3a_json_line({
            'alpha_max': ['number', 'alpha_max'],
            'alpha_min': ['number', 'alpha_min'],
            'alpha_sum_country': ['number', 'alpha_sum_country'],
            'blocks': ['number', 'blocks'],
            'country_iso': ['string', 'country_iso'],
            'draws': ['string', 'draws'],
            'manifest_fingerprint': ['string', 'manifest_fingerprint'],
            'merchant_id': ['number', 'merchant_id'],
            'module': ['string', 'module'],
            'notes': ['null', ''],
            'parameter_hash': ['string', 'parameter_hash'],
            'rng_counter_after_hi': ['number', 'rng_counter_after_hi'],
            'rng_counter_after_lo': ['number', 'rng_counter_after_lo'],
            'rng_counter_before_hi': ['number', 'rng_counter_before_hi'],
            'rng_counter_before_lo': ['number', 'rng_counter_before_lo'],
            'rng_stream_id': ['string', 'rng_stream_id'],
            'run_id': ['string', 'run_id'],
            'seed': ['number', 'seed'],
            'substream_label': ['string', 'substream_label'],
            'ts_utc': ['string', 'ts_utc'],
            'zone_count': ['number', 'zone_count'],
        }) }} as event_line,
        {{ seg3a_json_line({
            'blocks_total': ['number', 'blocks_total'],
            'draws_total': ['number', 'draws_total'],
            'events_total': ['number', 'events_total'],
            'module': ['string', 'module'],
            'rng_counter_after_hi': ['number', 'rng_counter_after_hi'],
            'rng_counter_after_lo': ['number', 'rng_counter_after_lo'],
            'rng_counter_before_hi': ['number', 'rng_counter_before_hi'],
            'rng_counter_before_lo': ['number', 'rng_counter_before_lo'],
            'run_id': ['string', 'run_id'],
            'seed': ['number', 'seed'],
            'substream_label': ['string', 'substream_label'],
            'ts_utc': ['string', 'ts_utc'],
        }) }} as trace_line
    from totals_accumulated
)

select * from lines_rendered
