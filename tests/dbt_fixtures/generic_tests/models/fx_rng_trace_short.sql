with

fixture_rows as (
    select *
    from (
        values
        ('r1', 42::ubigint, '3A.S3', 'zone_dirichlet', 0::ubigint, 9::ubigint, 6::ubigint, 4::ubigint, 1::ubigint, 't', 'rng_trace_log.jsonl')
    ) as fixture_rows (run_id, seed, module, substream_label, rng_counter_after_hi, rng_counter_after_lo, draws_total, blocks_total, events_total, ts_utc, source_file_name)
)

select * from fixture_rows
