"""The seg3a plugin's settings (run selection, per-run database folder, DuckDB resources):
a non-empty value in the profile's plugin config, else the environment variable, else the
default. The shipped profiles.yml renders none of them, so that dbt's partial parsing, keyed
on the profile's connection values (the plugins' config among them), survives a change of
run or of a DuckDB resource (tests/e2e/test_partial_parse_across_runs.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from python_udfs.plugin import PluginConfigError, plugin_settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VARIABLES = ("SEG3A_RUNS_ROOT", "SEG3A_RUN_ID", "SEG3A_DUCKDB_DIR", "SEG3A_DUCKDB_MEMORY_LIMIT",
             "SEG3A_DUCKDB_THREADS", "SEG3A_DUCKDB_TEMP_DIR")


@pytest.fixture()
def clean_environment(monkeypatch):
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


def test_defaults_without_profile_values_or_variables(clean_environment):
    assert plugin_settings({}) == {"runs_root": "build/runs", "run_id": "", "database_dir": "build/duckdb",
                                   "memory_limit": "", "threads": "", "temp_directory": ""}


def test_the_environment_fills_what_the_profile_leaves_out_or_empty(clean_environment):
    clean_environment.setenv("SEG3A_RUNS_ROOT", "/data/runs")
    clean_environment.setenv("SEG3A_RUN_ID", "abc")
    clean_environment.setenv("SEG3A_DUCKDB_DIR", "/data/duckdb")
    clean_environment.setenv("SEG3A_DUCKDB_MEMORY_LIMIT", "2GB")
    clean_environment.setenv("SEG3A_DUCKDB_THREADS", "1")
    clean_environment.setenv("SEG3A_DUCKDB_TEMP_DIR", "/spill")
    assert plugin_settings({"run_id": "", "threads": ""}) == {
        "runs_root": "/data/runs", "run_id": "abc", "database_dir": "/data/duckdb",
        "memory_limit": "2GB", "threads": "1", "temp_directory": "/spill"}


def test_a_profile_value_wins_over_the_variable(clean_environment):
    clean_environment.setenv("SEG3A_RUN_ID", "from-environment")
    clean_environment.setenv("SEG3A_DUCKDB_THREADS", "4")
    settings = plugin_settings({"run_id": "from-profile", "threads": 2})
    assert settings["run_id"] == "from-profile" and settings["threads"] == "2"


def test_an_unknown_key_is_refused(clean_environment):
    with pytest.raises(PluginConfigError, match=r"E3A_PLUGIN_CONFIG: unknown plugin config keys \['run'\]"):
        plugin_settings({"run": "abc"})


def test_the_shipped_profile_renders_no_plugin_setting():
    """A setting rendered into the profile (env_var in a plugin's config) would be part of
    what dbt compares to decide on partial parsing."""
    profile = yaml.safe_load((PROJECT_ROOT / "profiles.yml").read_text())
    plugins = profile["seg3a"]["outputs"]["embedded"]["plugins"]
    seg3a = next(plugin for plugin in plugins if plugin["module"] == "python_udfs.plugin")
    assert not seg3a.get("config"), seg3a
