"""S2 PASS run report and segment_state_runs row (spec 02 §7.5), written once the priors
are published. One row with the counters. (FAIL reports come from the on-run-end hook.)"""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "alpha_derivation"})
    priors = dbt.ref("s2_country_zone_priors").project(
        "country_iso, tzid, prior_pack_id, prior_pack_version, floor_policy_id, floor_policy_version, "
        "floor_applied, bump_applied"
    ).to_arrow_table()
    gate = dbt.ref("int_s2__inputs_verified").to_arrow_table()
    from seg3a.states.s2_priors import run_report

    return run_report(session, priors, gate)
