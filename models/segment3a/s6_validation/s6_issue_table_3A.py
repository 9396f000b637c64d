"""s6_issue_table_3A (spec 04 §2.4): one row per issue, sorted by severity, issue_code,
merchant_id, legal_country_iso, tzid (nulls first), then check_id, message, details;
written as issues.parquet with the S5 writer profile even when empty, and compared as
a row set with an existing copy (E3A_S6_006). Published after the report."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "checks"})
    dbt.ref("s6_validation_report_3A")
    queries = dbt.ref("int_s6__check_queries").to_arrow_table()
    evaluated = dbt.ref("int_s6__checks_evaluated").to_arrow_table()
    from seg3a.states.s6_validation import issue_table_published

    return issue_table_published(session, queries, evaluated)
