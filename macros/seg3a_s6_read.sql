{#
  seg3a_s6_read(input) -> SQL select over one input of the S6 validator, read from the
  published artefact at its dictionary path for the run the plugin selected (never from
  a dbt table, so `dbt test` validates what other segments will read). Inputs:
    gate_receipt, upstream_gates, sealed_policies, escalation_queue, outlet_catalogue,
    country_zone_priors, zone_shares, zone_counts, zone_alloc, universe_hash,
    universe_recomputed, rng_events, rng_trace, rng_audit, run_reports, check_outcomes.
  The `int_s6__<input>_read` models are exactly these selects (seg3a_s6_read_model;
  empty in a `dbt build` whose S6 tests read int_s6__checks_evaluated). They live in a
  macro, not in the models, because the S6 build models must inline the same select
  rather than ref a tested model (seg3a_s6_relation): one definition for both.
  An unknown input fails compilation with E3A_S6_002_CATALOGUE_MALFORMED.
#}
{% macro seg3a_s6_read(input) -%}
    {%- if input == 'gate_receipt' %}
    select
        json_extract_string(gate_receipt.doc, '$.manifest_fingerprint') as manifest_fingerprint,
        json_extract_string(gate_receipt.doc, '$.parameter_hash') as parameter_hash
    from (
        select cast(content as json) as doc
        from read_text({{ seg3a_location('s0_gate_receipt_3A') }})
    ) as gate_receipt
    {%- elif input == 'upstream_gates' %}
    select
        segments.segment,
        json_extract_string(gate_receipt.doc, '$.upstream_gates.segment_' || segments.segment || '.status') as status
    from (
        select cast(content as json) as doc
        from read_text({{ seg3a_location('s0_gate_receipt_3A') }})
    ) as gate_receipt
    cross join (select unnest(['1A', '1B', '2A']) as segment) as segments
    {%- elif input == 'sealed_policies' %}
    {#- policies listed in the gate's sealed_policy_set that also have a sealed_inputs_3A row -#}
    select policy_set.logical_id
    from (
        select unnest(json_extract_string(gate_receipt.doc, '$.sealed_policy_set[*].logical_id')) as logical_id
        from (
        select cast(content as json) as doc
        from read_text({{ seg3a_location('s0_gate_receipt_3A') }})
    ) as gate_receipt
    ) as policy_set
    inner join (
        select unnest(json_extract_string(inventory.doc, '$[*].logical_id')) as logical_id
        from (
        select cast(content as json) as doc
        from read_text({{ seg3a_location('sealed_inputs_3A') }})
    ) as inventory
    ) as sealed_rows
        on policy_set.logical_id = sealed_rows.logical_id
    {%- elif input == 'escalation_queue' %}
    select
        cast(merchant_id as ubigint) as merchant_id,
        cast(legal_country_iso as varchar) as legal_country_iso,
        cast(site_count as bigint) as site_count,
        cast(is_escalated as boolean) as is_escalated
    from read_parquet({{ seg3a_location('s1_escalation_queue') }} || '/*.parquet', hive_partitioning = false)
    {%- elif input == 'outlet_catalogue' %}
    select
        cast(merchant_id as ubigint) as merchant_id,
        cast(legal_country_iso as varchar) as legal_country_iso
    from read_parquet({{ seg3a_location('outlet_catalogue') }} || '/*.parquet', hive_partitioning = false)
    {%- elif input == 'country_zone_priors' %}
    select
        cast(country_iso as varchar) as country_iso,
        cast(tzid as varchar) as tzid,
        cast(alpha_effective as double) as alpha_effective,
        cast(alpha_sum_country as double) as alpha_sum_country
    from read_parquet({{ seg3a_location('s2_country_zone_priors') }} || '/*.parquet', hive_partitioning = false)
    {%- elif input == 'zone_shares' %}
    select
        cast(merchant_id as ubigint) as merchant_id,
        cast(legal_country_iso as varchar) as legal_country_iso,
        cast(tzid as varchar) as tzid,
        cast(share_drawn as double) as share_drawn
    from read_parquet({{ seg3a_location('s3_zone_shares') }} || '/*.parquet', hive_partitioning = false)
    {%- elif input == 'zone_counts' %}
    select
        cast(merchant_id as ubigint) as merchant_id,
        cast(legal_country_iso as varchar) as legal_country_iso,
        cast(tzid as varchar) as tzid,
        cast(zone_site_count as bigint) as zone_site_count,
        cast(zone_site_count_sum as bigint) as zone_site_count_sum
    from read_parquet({{ seg3a_location('s4_zone_counts') }} || '/*.parquet', hive_partitioning = false)
    {%- elif input == 'zone_alloc' %}
    select
        cast(merchant_id as ubigint) as merchant_id,
        cast(legal_country_iso as varchar) as legal_country_iso,
        cast(tzid as varchar) as tzid,
        cast(zone_site_count as bigint) as zone_site_count,
        cast(zone_site_count_sum as bigint) as zone_site_count_sum,
        cast(site_count as bigint) as site_count,
        cast(routing_universe_hash as varchar) as routing_universe_hash
    from read_parquet({{ seg3a_location('zone_alloc') }} || '/*.parquet', hive_partitioning = false)
    {%- elif input == 'universe_hash' %}
    select
        json_extract_string(universe_hash.doc, '$.zone_alpha_digest') as zone_alpha_digest,
        json_extract_string(universe_hash.doc, '$.theta_digest') as theta_digest,
        json_extract_string(universe_hash.doc, '$.zone_floor_digest') as zone_floor_digest,
        json_extract_string(universe_hash.doc, '$.day_effect_digest') as day_effect_digest,
        json_extract_string(universe_hash.doc, '$.zone_alloc_parquet_digest') as zone_alloc_parquet_digest,
        json_extract_string(universe_hash.doc, '$.routing_universe_hash') as routing_universe_hash
    from (
        select cast(content as json) as doc
        from read_text({{ seg3a_location('zone_alloc_universe_hash') }})
    ) as universe_hash
    {%- elif input == 'universe_recomputed' %}
    {#- the five components recomputed by S5's own function (seg3a.states.s5_digests) -#}
    select
        json_extract_string(recomputed.doc, '$.zone_alpha_digest') as zone_alpha_digest,
        json_extract_string(recomputed.doc, '$.theta_digest') as theta_digest,
        json_extract_string(recomputed.doc, '$.zone_floor_digest') as zone_floor_digest,
        json_extract_string(recomputed.doc, '$.day_effect_digest') as day_effect_digest,
        json_extract_string(recomputed.doc, '$.zone_alloc_parquet_digest') as zone_alloc_parquet_digest,
        json_extract_string(recomputed.doc, '$.routing_universe_hash') as routing_universe_hash
    from (
        select cast(s3a_s6_universe_components(seg3a_run_root()) as json) as doc
    ) as recomputed
    {%- elif input == 'rng_events' %}
    select
        run_id,
        seed,
        parameter_hash,
        manifest_fingerprint,
        blocks,
        draws,
        merchant_id,
        country_iso
    from read_json(
        {{ seg3a_location('rng_event_zone_dirichlet') }},
        format = 'newline_delimited',
        hive_partitioning = false,
        columns = {
            run_id: 'VARCHAR', seed: 'UBIGINT', parameter_hash: 'VARCHAR', manifest_fingerprint: 'VARCHAR',
            blocks: 'UBIGINT', draws: 'VARCHAR', merchant_id: 'UBIGINT', country_iso: 'VARCHAR'
        }
    )
    {%- elif input == 'rng_trace' %}
    select
        run_id,
        seed,
        module,
        substream_label,
        rng_counter_after_hi,
        rng_counter_after_lo,
        draws_total,
        blocks_total,
        events_total,
        ts_utc,
        parse_filename(filename) as source_file_name
    from read_json(
        {{ seg3a_location('rng_trace_log') }},
        format = 'newline_delimited',
        hive_partitioning = false,
        filename = true,
        columns = {
            ts_utc: 'VARCHAR', run_id: 'VARCHAR', seed: 'UBIGINT', module: 'VARCHAR', substream_label: 'VARCHAR',
            rng_counter_after_hi: 'UBIGINT', rng_counter_after_lo: 'UBIGINT', draws_total: 'UBIGINT',
            blocks_total: 'UBIGINT', events_total: 'UBIGINT'
        }
    )
    {%- elif input == 'rng_audit' %}
    select
        run_id,
        seed,
        parameter_hash,
        manifest_fingerprint
    from read_json(
        {{ seg3a_location('rng_audit_log') }},
        format = 'newline_delimited',
        hive_partitioning = false,
        columns = {run_id: 'VARCHAR', seed: 'UBIGINT', parameter_hash: 'VARCHAR', manifest_fingerprint: 'VARCHAR'}
    )
    {%- elif input == 'run_reports' %}
    select
        state,
        status
    from read_json(
        [
            {%- for k in range(1, 6) %}
            {{ seg3a_location('s' ~ k ~ '_run_report_3A') }}{{ ',' if not loop.last }}
            {%- endfor %}
        ],
        format = 'auto',
        hive_partitioning = false,
        columns = {state: 'VARCHAR', status: 'VARCHAR'}
    )
    {%- elif input == 'check_outcomes' %}
    {#- one row per ERROR check: whether any of its tests returns a failing row. Built from
        the S6 tests of the graph, inlined, so that CHK_STATE_STATUS_CONSISTENCY can be
        judged by a test of its own. -#}
    {%- set parts = [] -%}
    {%- for node in seg3a_s6_test_nodes() -%}
        {%- if node.config.meta.seg3a_check_id != 'CHK_STATE_STATUS_CONSISTENCY' -%}
            {%- do parts.append(
                "select '" ~ node.config.meta.seg3a_check_id ~ "' as check_id, exists (select 1 from ("
                ~ seg3a_s6_render_test(node) ~ ") as failing_rows) as failed"
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if parts -%}
    select check_id, bool_or(failed) as failed
    from (
        {{ parts | join('\nunion all\n') }}
    ) as test_outcomes
    group by check_id
    {%- else -%}
    select cast(null as varchar) as check_id, false as failed
    where false
    {%- endif -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("E3A_S6_002_CATALOGUE_MALFORMED: no S6 input named " ~ input) }}
    {%- endif -%}
{%- endmacro %}
