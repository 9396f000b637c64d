"""S6 preconditions (spec 04 §2.1): gate receipt and inventory valid, s6_version from the
registry, the four policies and outlet_catalogue re-verified against their sealed
digests, the S1..S5 run reports valid, the required columns present, the universe-hash
JSON valid and the three RNG logs readable and schema-valid. One row per verified policy;
every S6 model and test runs after it (E3A_S6_001 / _002 / _007 on failure)."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "s0_gate"})
    dbt.ref("s5_run_report_3A")
    dbt.ref("int_s6__rng_logs_prejudged")  # the RNG log verdicts it may take, warmed beside S4/S5
    from seg3a.states.s6_validation import inputs_verified

    return inputs_verified(session)
