"""3A.S0: verify the upstream HashGates, seal every input, publish the gate receipt.

Runs first in `dbt build --select segment3a`: every staging model depends on it, so a
failed gate stops the build before any upstream data is read ("no PASS, no read")."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", tags=["segment3a", "s0"])
    from seg3a.states.s0_dbt import gate_receipt_table

    return gate_receipt_table(session)


def lineage(dbt):
    """Every input S0 verifies and seals. Never called: the inputs are read at their
    catalogue paths after their digests are verified; these calls only give dbt the
    edges from the raw inputs (models/segment3a/staging/__sources.yml)."""
    dbt.source("seg3a_upstream_gates", "validation_bundle_1A")
    dbt.source("seg3a_upstream_gates", "validation_passed_flag_1A")
    dbt.source("seg3a_upstream_gates", "validation_bundle_1B")
    dbt.source("seg3a_upstream_gates", "validation_passed_flag_1B")
    dbt.source("seg3a_upstream_gates", "validation_bundle_2A")
    dbt.source("seg3a_upstream_gates", "validation_passed_flag_2A")
    dbt.source("seg3a_upstream", "outlet_catalogue")
    dbt.source("seg3a_upstream", "site_timezones")
    dbt.source("seg3a_upstream", "tz_timetable_cache")
    dbt.source("seg3a_upstream", "s4_legality_report")
    dbt.source("seg3a_policies", "zone_mixture_policy")
    dbt.source("seg3a_policies", "country_zone_alphas")
    dbt.source("seg3a_policies", "zone_floor_policy")
    dbt.source("seg3a_policies", "day_effect_policy_v1")
    dbt.source("seg3a_reference", "iso3166_canonical_2024")
    dbt.source("seg3a_reference", "world_countries")
    dbt.source("seg3a_reference", "tz_world_2025a")
