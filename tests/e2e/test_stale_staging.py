"""A killed run may leave staging behind; the next run removes it, and no staging ever
sits where a reader's glob over a dataset can see it (spec README "Staging location").

The stale stages planted here are the ones the issue's kill probes found: a 0-byte
Parquet file in a `_tmp.<uuid>` folder inside the zone_alloc tree (which broke the
README's `read_parquet('…/zone_alloc/*/*/*.parquet')`) and an empty `_tmp.<uuid>`
folder among the RNG logs.

The rerun is the whole build again on the full snapshot: besides the sweep, it must leave
every file byte-identical and S5 and S7 PASS. The stale stages are outside every
published file, so this is also the suite's test that a rerun changes nothing."""
from __future__ import annotations

import duckdb
import pytest

from seg3a.states.s7_members import FLAG_NAME
from tests.e2e.conftest import Seg3aProject, s1s2_session  # noqa: F401  (fixture)
from tests.e2e.test_s3_s4 import build
from tests.e2e.test_s5_s7 import SEGMENT, full, run_files  # noqa: F401  (fixture)


@pytest.mark.e2e
def test_a_rerun_sweeps_stale_staging_and_the_readme_glob_reads(full: Seg3aProject):
    before = run_files(full.run_root)
    assert any(rel.endswith(f"/{FLAG_NAME}") for rel in before)
    seed_dir = full.path("zone_alloc").parent
    stale_partition = seed_dir / "_tmp.0badc0ffee0badc0ffee0badc0ffee00"
    stale_partition.mkdir()
    (stale_partition / "part-00000.parquet").write_bytes(b"")
    stale_logs = full.run_root / "logs/layer1/3A/rng/_tmp.0badc0ffee0badc0ffee0badc0ffee01"
    stale_logs.mkdir(parents=True)
    glob = (full.run_root / "data/layer1/3A/zone_alloc/*/*/*.parquet").as_posix()
    with pytest.raises(duckdb.Error, match="too small|Parquet|parquet"):
        duckdb.connect().execute(f"select count(*) from read_parquet('{glob}')").fetchall()

    result = build(full, *SEGMENT)
    assert result.ok, result.output[-4000:]
    assert not stale_partition.exists() and not stale_logs.exists()
    rows = duckdb.connect().execute(f"select count(*) from read_parquet('{glob}')").fetchone()[0]
    assert rows == full.report("S4")["counts"]["zone_rows_total"]
    assert run_files(full.run_root) == before
    for state in ("S5", "S7"):
        assert full.report(state)["status"] == "PASS"
    assert not (full.run_root / ".staging").exists() or not any((full.run_root / ".staging").iterdir())
