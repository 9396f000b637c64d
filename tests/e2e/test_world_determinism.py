"""End to end: the sample world is a pure function of its arguments and inputs.

Same seed => byte-identical run root (every file's SHA-256); different seed =>
different catalogue; re-generation is a no-op; a changed run root is never overwritten;
the Parquet part layout changes no catalogue row; the size knob scales linearly.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import pytest

from seg3a.core.paths import default_external_root
from seg3a.world import generate_world, tables
from seg3a.world.generate import WorldError
from seg3a.world.testing import WorldView, ensure_reference, shared_world


def quiet(_line: str) -> None:
    pass


def tree_digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def external_root() -> Path:
    root = default_external_root()
    ensure_reference(root)
    return root


def test_same_seed_gives_a_byte_identical_run_root(tmp_path, external_root):
    runs = tmp_path / "runs"
    first = generate_world(42, None, runs, external_root, progress=quiet)
    saved = tmp_path / "first"
    os.rename(first, saved)  # the second call must really regenerate, not find the first
    second = generate_world(42, None, runs, external_root, progress=quiet)
    assert second.name == first.name
    before, after = tree_digests(saved), tree_digests(second)
    assert len(before) >= 25
    assert before == after


def test_regeneration_is_a_no_op_and_changes_are_refused(tmp_path, external_root):
    runs = tmp_path / "runs"
    run_root = generate_world(42, 400, runs, external_root, progress=quiet)
    stamps = {p: p.stat().st_mtime_ns for p in run_root.rglob("*") if p.is_file()}
    lines: list[str] = []
    assert generate_world(42, 400, runs, external_root, progress=lines.append) == run_root
    assert any("identical" in line for line in lines)
    assert {p: p.stat().st_mtime_ns for p in run_root.rglob("*") if p.is_file()} == stamps
    assert sorted(p.name for p in runs.iterdir()) == [run_root.name]  # no staging left behind

    world = WorldView.open(run_root)
    victim = world.path("s4_legality_report")
    victim.write_bytes(victim.read_bytes().replace(b"PASS", b"FAIL"))
    with pytest.raises(WorldError) as failure:
        generate_world(42, 400, runs, external_root, progress=quiet)
    assert failure.value.code == "E3A_WORLD_IMMUTABLE"
    assert failure.value.context["file"] == victim.relative_to(run_root).as_posix()
    assert b"FAIL" in victim.read_bytes()  # nothing was overwritten


def test_different_seed_gives_a_different_catalogue(tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    a, b = WorldView.open(shared_world(base, seed=42)), WorldView.open(shared_world(base, seed=7))
    assert a.run_root.name != b.run_root.name
    assert a.receipt.manifest_fingerprint == b.receipt.manifest_fingerprint  # F does not depend on the seed
    assert tree_digests(a.path("outlet_catalogue")) != tree_digests(b.path("outlet_catalogue"))
    con = duckdb.connect()
    rows_a = con.execute(f"SELECT merchant_id, legal_country_iso, final_country_outlet_count FROM "
                         f"read_parquet('{a.path('outlet_catalogue')}/*.parquet')").fetchall()
    rows_b = con.execute(f"SELECT merchant_id, legal_country_iso, final_country_outlet_count FROM "
                         f"read_parquet('{b.path('outlet_catalogue')}/*.parquet')").fetchall()
    assert len(set(rows_a) & set(rows_b)) < 0.05 * len(rows_a)


def test_part_layout_does_not_change_catalogue_rows(tmp_path, tmp_path_factory, external_root, monkeypatch):
    reference = WorldView.open(shared_world(tmp_path_factory.getbasetemp(), seed=42))
    monkeypatch.setattr(tables, "ROWS_PER_PART", 7_000)
    lines: list[str] = []
    split = WorldView.open(generate_world(42, None, tmp_path / "runs", external_root, progress=lines.append))
    parts = sorted(p.name for p in split.path("outlet_catalogue").iterdir())
    assert len(parts) == 5 and parts[-1] == "part-00004.parquet"
    assert sum("part " in line for line in lines) == 5
    con = duckdb.connect()
    diff = con.execute(f"""
        SELECT count(*) FROM (
            (SELECT * FROM read_parquet('{reference.path('outlet_catalogue')}/*.parquet')
             EXCEPT ALL SELECT * FROM read_parquet('{split.path('outlet_catalogue')}/*.parquet'))
            UNION ALL
            (SELECT * FROM read_parquet('{split.path('outlet_catalogue')}/*.parquet')
             EXCEPT ALL SELECT * FROM read_parquet('{reference.path('outlet_catalogue')}/*.parquet')))""").fetchone()[0]
    assert diff == 0


@pytest.mark.parametrize("target", [300, 20_000])
def test_pairs_knob_scales_linearly(tmp_path, external_root, target):
    world = WorldView.open(generate_world(42, target, tmp_path / "runs", external_root, progress=quiet))
    pairs, rows = duckdb.connect().execute(f"""
        SELECT count(DISTINCT (merchant_id, legal_country_iso)), count(*)
        FROM read_parquet('{world.path('outlet_catalogue')}/*.parquet')""").fetchone()
    assert abs(pairs - target) <= 0.10 * target
    assert 9 * pairs <= rows <= 16 * pairs  # about 12 outlets per pair at every size
