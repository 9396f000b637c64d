"""3A.S0: verify the upstream HashGates, seal every input, publish the gate receipt.

Runs first in `dbt build --select segment3a`: every staging model depends on it, so a
failed gate stops the build before any upstream data is read ("no PASS, no read")."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", tags=["segment3a", "s0"])
    from seg3a.states.s0_dbt import gate_receipt_table

    return gate_receipt_table(session)
