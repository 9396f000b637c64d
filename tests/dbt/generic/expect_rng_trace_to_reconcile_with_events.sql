{#
  RNG trace against the event log (04 §2.3). Trace rows of another `run_id` or `seed`
  (SQL expressions, the run's by default) are dropped; candidates are the rest with
  module 3A.S3 and substream zone_dirichlet; the
  aggregate is the candidate with the greatest (events_total, blocks_total,
  draws_total, rng_counter_after_hi, rng_counter_after_lo, ts_utc, source_file_name).
  `missing` issue: no candidate while there are events or escalated pairs (an empty
  log is accepted exactly when nothing was escalated). `mismatch` issue: the
  aggregate's totals differ from E = events, B = Σ blocks, W = Σ draws (saturating at
  2^64 - 1 as the trace does). Details carry both sides.
#}
{% test expect_rng_trace_to_reconcile_with_events(model, events, escalation, escalation_keys, escalation_condition,
                                                  missing_issue_code, missing_message, mismatch_issue_code,
                                                  mismatch_message, run_id="seg3a_run_id()",
                                                  seed="seg3a_seed()", inline=false) %}
{%- set evaluated_rows = seg3a_s6_evaluated_rows(inline) %}
{%- if evaluated_rows %}
{{ evaluated_rows }}
{%- else %}
with

candidates as (
    select *
    from {{ model }}
    where run_id = cast({{ run_id }} as varchar)
        and cast(seed as varchar) = cast({{ seed }} as varchar)
        and module = '3A.S3'
        and substream_label = 'zone_dirichlet'
),

trace_aggregate as (
    select
        events_total,
        blocks_total,
        draws_total
    from candidates
    order by
        events_total desc, blocks_total desc, draws_total desc, rng_counter_after_hi desc,
        rng_counter_after_lo desc, ts_utc desc, source_file_name desc
    limit 1
),

event_totals as (
    select
        least(count(*), 18446744073709551615::uhugeint) as event_count,
        least(coalesce(sum(cast(blocks as uhugeint)), 0), 18446744073709551615::uhugeint) as block_total,
        least(coalesce(sum(cast(draws as uhugeint)), 0), 18446744073709551615::uhugeint) as draw_total
    from {{ seg3a_s6_relation(events, inline) }}
),

escalated_pairs as (
    select count(*) as pair_count
    from (
        select distinct {{ escalation_keys | join(', ') }}
        from {{ seg3a_s6_relation(escalation, inline) }}
        where {{ escalation_condition }}
    ) as distinct_pairs
),

reconciliation as (
    select
        (select count(*) from candidates) as candidate_count,
        trace_aggregate.events_total,
        trace_aggregate.blocks_total,
        trace_aggregate.draws_total,
        event_totals.event_count,
        event_totals.block_total,
        event_totals.draw_total,
        escalated_pairs.pair_count
    from event_totals
    cross join escalated_pairs
    left join trace_aggregate
        on true
),

trace_missing as (
    {{ seg3a_s6_validation_errors(
        'reconciliation', missing_issue_code, missing_message,
        details="'events=' || event_count || ',escalated_pairs=' || pair_count",
        row_condition='candidate_count = 0 and (event_count > 0 or pair_count > 0)'
    ) }}
),

trace_mismatch as (
    {{ seg3a_s6_validation_errors(
        'reconciliation', mismatch_issue_code, mismatch_message,
        details="'events_total=' || events_total || ',events=' || event_count || ',blocks_total=' || blocks_total"
            ~ " || ',blocks=' || block_total || ',draws_total=' || draws_total || ',draws=' || draw_total",
        row_condition='candidate_count > 0 and (cast(events_total as uhugeint) <> event_count'
            ~ ' or cast(blocks_total as uhugeint) <> block_total or cast(draws_total as uhugeint) <> draw_total)'
    ) }}
),

validation_errors as (
    select * from trace_missing
    union all
    select * from trace_mismatch
)

select * from validation_errors
{%- endif %}
{% endtest %}
