"""The Z(c) membership-rule parameters as DuckDB macros.

The contract file `contracts/zone_universe_rule.yaml` is the only place the values live.
The dbt plugin creates them as macros of the build's database and the evaluator on its own
connection, so the SQL of `zone_universe_candidates` reads `seg3a_zone_rule__<key>()` in
both."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

RULE_FILE = "zone_universe_rule.yaml"
RULE_VAR = "zone_universe_rule"
VARIABLE_PREFIX = "seg3a_zone_rule__"
RULE_KEYS = ("min_overlap_km2", "min_share_of_zone_land", "uninhabited_countries", "non_civil_tzid_prefix")


def load_rule(path: Path) -> dict[str, Any]:
    """The `zone_universe_rule` mapping of the contract file, with every key present."""
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    rule = document.get(RULE_VAR) if isinstance(document, dict) else None
    if not isinstance(rule, dict):
        raise ValueError(f"{path}: top-level key {RULE_VAR!r} with a mapping is required")
    missing = [key for key in RULE_KEYS if key not in rule]
    if missing:
        raise ValueError(f"{path}: {RULE_VAR} lacks {missing}")
    return rule


def rule_variables(rule: dict[str, Any]) -> dict[str, Any]:
    """DuckDB variable name -> value for the keys the SQL reads."""
    return {f"{VARIABLE_PREFIX}{key}": rule[key] for key in RULE_KEYS}


def create_rule_macros(conn, rule: dict[str, Any]) -> None:
    """`<name>()` on `conn` for each rule value: a TEMP macro returning the connection's
    variable of that name, set here with the value as a bound parameter (the evaluator runs
    on this one connection)."""
    for name, value in rule_variables(rule).items():
        conn.execute(f"SET VARIABLE {name} = ?", [value])
        conn.execute(f"CREATE OR REPLACE TEMP MACRO {name}() AS getvariable('{name}')")
