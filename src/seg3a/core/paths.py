"""Where the project's own files live. Everything else is rendered from the dictionary."""
from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The project checkout (holding dbt_project.yml), overridable by SEG3A_PROJECT_ROOT."""
    override = os.environ.get("SEG3A_PROJECT_ROOT")
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parents[3]


def contracts_root() -> Path:
    return Path(os.environ.get("SEG3A_CONTRACTS_ROOT", project_root() / "contracts")).resolve()


def default_runs_root() -> Path:
    return Path(os.environ.get("SEG3A_RUNS_ROOT", project_root() / "build" / "runs")).resolve()


def default_external_root() -> Path:
    """Holds `config/` (committed policies) and `reference/` (built reference data)."""
    return Path(os.environ.get("SEG3A_EXTERNAL_ROOT", project_root())).resolve()
