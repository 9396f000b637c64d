"""s6_receipt_3A (spec 04 §2.4): verdict, check_status_map, s6_version and the digests of
the report and issue files that are kept; schema-validated and checked against them
(E3A_S6_005), published last as canonical JSON, write-once. One row."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "checks"})
    dbt.ref("s6_validation_report_3A")
    dbt.ref("s6_issue_table_3A")
    from seg3a.states.s6_validation import receipt_published

    return receipt_published(session)
