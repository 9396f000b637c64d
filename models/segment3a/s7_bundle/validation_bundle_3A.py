"""validation_bundle_3A and its `_passed.flag` (spec 04 §3): the four gates, the 14
members digested where they live and validated, parity with the S6 receipt, index.json
and the flag staged and renamed onto the bundle root (an existing bundle is compared,
never overwritten). One row per index member."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "members"})
    dbt.ref("s6_run_report_3A")
    from seg3a.states.s7_bundle import bundle_published

    return bundle_published(session)
