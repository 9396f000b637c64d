"""s6_validation_report_3A (spec 04 §2.4): the 12 checks aggregated from the evaluated
tests, with the run metrics, schema-validated with every issue row (E3A_S6_004) and
published as canonical JSON, write-once (E3A_S6_006). One row per check."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "checks"})
    queries = dbt.ref("int_s6__check_queries").to_arrow_table()
    evaluated = dbt.ref("int_s6__checks_evaluated").to_arrow_table()
    from seg3a.states.s6_validation import report_published

    return report_published(session, queries, evaluated)
