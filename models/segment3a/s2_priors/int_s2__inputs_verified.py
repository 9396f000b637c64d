"""S2 entry gate (spec 01 §5.1, 02 §7.1 steps 1-3): S0 receipt and inventory valid,
upstream gates PASS, the prior pack and floor policy exactly once in the sealed policy
set, every sealed artefact S2 reads re-verified by path and digest. One row per
verified artefact; every later S2 model depends on it."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "sealed_inputs"})
    dbt.ref("s0_gate_receipt_3A")
    from seg3a.states.s2_priors import inputs_verified

    return inputs_verified(session)
