"""S3 entry gate (spec 01 §5.1, 03 §3.1 item 1): S0 receipt and inventory valid,
upstream gates PASS, the three 3A policies exactly once in the sealed policy set and
their sealed bytes unchanged. One row per verified artefact; every S3 model depends on it."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "s0_gate"})
    dbt.ref("s0_gate_receipt_3A")
    from seg3a.states.s3_draws import inputs_verified

    return inputs_verified(session)
