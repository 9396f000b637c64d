"""S1 entry gate (spec 01 §5.1, 02 §6.1 steps 1-4): S0 receipt and inventory valid,
upstream gates PASS, every sealed artefact S1 reads re-verified by path and digest.
One row per verified artefact; every later S1 model depends on it."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "sealed_inputs"})
    dbt.ref("s0_gate_receipt_3A")
    from seg3a.states.s1_escalation import inputs_verified

    return inputs_verified(session)
