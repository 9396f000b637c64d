"""dbt keeps its partial-parse state when the selected run or a DuckDB resource changes:
the plugin reads SEG3A_RUN_ID, SEG3A_RUNS_ROOT and SEG3A_DUCKDB_* itself when dbt opens
the database, so they are not part of the profile dbt compares (a full parse of the
project costs about 3.4 CPU s more than a partial one). Real `dbt parse` runs, no world
needed: parsing opens no database."""
from __future__ import annotations

from tests.e2e.dbt_runner import PROJECT_ROOT, dbt_command

FULL_PARSE = "Unable to do partial parsing"
NOTHING_CHANGED = "Partial parsing enabled, no changes found"


def test_a_change_of_run_or_memory_limit_keeps_partial_parsing(tmp_path):
    def parse(**variables: str) -> str:
        env = {"DBT_PROFILES_DIR": str(PROJECT_ROOT), "DBT_TARGET_PATH": str(tmp_path / "target"),
               "DBT_LOG_PATH": str(tmp_path / "logs"), "SEG3A_DUCKDB": str(tmp_path / "seg3a.duckdb"),
               "SEG3A_RUNS_ROOT": str(tmp_path / "runs"), "SEG3A_RUN_ID": "", "SEG3A_DUCKDB_MEMORY_LIMIT": "",
               **variables}
        done = dbt_command(["parse", "--no-use-colors", "--log-level", "debug"], env)
        assert done.ok, done.output[-3000:]
        return done.output

    first = parse()
    assert NOTHING_CHANGED not in first  # a new target folder: a full parse
    other = parse(SEG3A_RUN_ID="another-run", SEG3A_RUNS_ROOT=str(tmp_path / "elsewhere"),
                  SEG3A_DUCKDB_MEMORY_LIMIT="1GB")
    assert FULL_PARSE not in other and NOTHING_CHANGED in other, other[-3000:]
