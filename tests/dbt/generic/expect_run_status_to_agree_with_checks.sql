{#
  CHK_STATE_STATUS_CONSISTENCY (04 §2.2): `groups` maps each state to the checks that
  judge it. A state whose run report is PASS while one of its checks fails gets the
  `pass_message` issue; a FAIL run report none of whose checks fails gets the
  `fail_message` issue. `check_outcomes` holds (check_id, failed). Details
  `state=<S>,run_status=<status>,failed_checks=<ids>`.
#}
{% test expect_run_status_to_agree_with_checks(model, check_outcomes, groups, issue_code, pass_message, fail_message,
                                               inline=false) %}
{%- set evaluated_rows = seg3a_s6_evaluated_rows(inline) %}
{%- if evaluated_rows %}
{{ evaluated_rows }}
{%- else %}
with

state_checks as (
    {%- for state, check_ids in groups | dictsort %}
    {%- set outer = loop %}
    {%- for check_id in check_ids %}
    select '{{ state }}' as state, '{{ check_id }}' as check_id{{ ' union all' if not (outer.last and loop.last) }}
    {%- endfor %}
    {%- endfor %}
),

state_outcomes as (
    select
        state_checks.state,
        coalesce(bool_or(check_outcomes.failed), false) as any_failed,
        coalesce(string_agg(check_outcomes.check_id, '|' order by check_outcomes.check_id)
            filter (where check_outcomes.failed), '') as failed_checks
    from state_checks
    left join {{ seg3a_s6_relation(check_outcomes, inline) }} as check_outcomes
        on state_checks.check_id = check_outcomes.check_id
    group by state_checks.state
),

states_compared as (
    select
        run_reports.state,
        run_reports.status,
        state_outcomes.any_failed,
        state_outcomes.failed_checks
    from {{ model }} as run_reports
    inner join state_outcomes
        on run_reports.state = state_outcomes.state
),

pass_but_checks_fail as (
    {{ seg3a_s6_validation_errors(
        'states_compared', issue_code, pass_message,
        details="'state=' || state || ',run_status=' || status || ',failed_checks=' || failed_checks",
        row_condition="status = 'PASS' and any_failed"
    ) }}
),

fail_but_checks_pass as (
    {{ seg3a_s6_validation_errors(
        'states_compared', issue_code, fail_message,
        details="'state=' || state || ',run_status=' || status || ',failed_checks='",
        row_condition="status = 'FAIL' and not any_failed"
    ) }}
),

validation_errors as (
    select * from pass_but_checks_fail
    union all
    select * from fail_but_checks_pass
)

select * from validation_errors
{%- endif %}
{% endtest %}
