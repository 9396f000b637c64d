"""The S6 checks as `dbt build` runs them: every rendered S6 test query executed, its
failing rows kept as issue rows tagged with the test and its check (E3A_S6_003 when a
query fails). The same rows `dbt test` stores as failures."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "checks"})
    queries = dbt.ref("int_s6__check_queries").to_arrow_table()
    from seg3a.states.s6_validation import checks_evaluated

    return checks_evaluated(session, queries)
