"""The Z(c) store key (seg3a.zones.cache): the same inputs give the same key wherever the
project lies; any change to a zone-universe model or reference staging model gives a new
one, and so do the reference data, the rule contract and the engine versions."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from seg3a.core.paths import project_root
from seg3a.zones.cache import zone_universe_inputs, zone_universe_key

MODEL_DIRS = ("models/segment3a/zone_universe", "models/segment3a/staging")


def copy_models(target: Path) -> Path:
    for relative in MODEL_DIRS:
        shutil.copytree(project_root() / relative, target / relative)
    return target


def test_key_is_stable_and_independent_of_the_project_place(tmp_path):
    key = zone_universe_key()
    assert re.fullmatch(r"[0-9a-f]{16}", key)
    assert zone_universe_key(copy_models(tmp_path / "elsewhere")) == key == zone_universe_key(project_root())


def test_every_model_input_changes_the_key(tmp_path):
    key = zone_universe_key()
    copy = copy_models(tmp_path / "copy")
    models = [path for path in zone_universe_inputs(copy) if path.suffix == ".sql"]
    assert {p.name for p in models} >= {"zone_universe.sql", "zone_count_country.sql", "stg_ref__tz_world.sql"}
    for path in models:
        original = path.read_bytes()
        path.write_bytes(original + b"\n-- edited\n")
        assert zone_universe_key(copy) != key, path.name
        path.write_bytes(original)
    assert zone_universe_key(copy) == key


def test_reference_data_and_rule_contract_change_the_key(tmp_path):
    """The key reads the polygons and the rule a run resolves (a run may shadow them)."""
    defaults = zone_universe_inputs()
    key = zone_universe_key()
    named = {"world_countries": defaults[0], "tz_world": defaults[1], "rule_file": defaults[2]}
    assert zone_universe_key(**named) == key
    for name, path in named.items():
        copy = tmp_path / name / path.name
        copy.parent.mkdir()
        copy.write_bytes(path.read_bytes())
        assert zone_universe_key(**{name: copy}) == key, name  # same bytes elsewhere: same key
        copy.write_bytes(path.read_bytes() + b"\n")
        assert zone_universe_key(**{name: copy}) != key, name


def test_engine_versions_are_part_of_the_key(monkeypatch):
    """GEOS in the spatial extension computes the overlay: another version, another key."""
    import seg3a.zones.cache as cache

    key = zone_universe_key()
    assert any(v.startswith("duckdb_extension_spatial==") for v in cache.engine_versions())
    monkeypatch.setattr(cache, "engine_versions", lambda: ["duckdb==0.0.0", "duckdb_extension_spatial==0.0.0"])
    assert zone_universe_key() != key


def _reads_counted(monkeypatch) -> list[str]:
    """The files the key reads, in order (cache._file_sha256 calls)."""
    import seg3a.zones.cache as cache

    reads: list[str] = []
    read = cache._file_sha256
    monkeypatch.setattr(cache, "_file_sha256", lambda path: reads.append(Path(path).name) or read(path))
    return reads


def test_large_inputs_are_read_once_then_remembered(tmp_path, monkeypatch):
    """A stored Z(c) is found without reading the ~100 MB of polygons again; the small
    inputs (SQL, rule, code) are always read."""
    from seg3a.zones.cache import DIGEST_MEMO, MEMO_MIN_BYTES, STORE_ENV

    monkeypatch.setenv(STORE_ENV, str(tmp_path / "store"))
    reads = _reads_counted(monkeypatch)
    large = {p.name for p in zone_universe_inputs() if p.stat().st_size >= MEMO_MIN_BYTES}
    assert large >= {"tz_world.parquet", "world_countries.parquet"}
    key = zone_universe_key()
    assert large <= set(reads) and (tmp_path / "store" / DIGEST_MEMO).is_file()
    reads.clear()
    assert zone_universe_key() == key
    assert reads and not large & set(reads)


def test_a_rewritten_input_is_read_again_even_with_its_old_mtime(tmp_path, monkeypatch):
    """Same size, same mtime, other bytes: the status-change time tells the memo apart."""
    import os

    from seg3a.zones.cache import STORE_ENV

    monkeypatch.setenv(STORE_ENV, str(tmp_path / "store"))
    source = zone_universe_inputs()[0]  # world_countries, a few MB
    copy = tmp_path / source.name
    copy.write_bytes(source.read_bytes())
    key = zone_universe_key(world_countries=copy)
    before = copy.stat()
    data = bytearray(copy.read_bytes())
    data[-1] ^= 0xFF
    copy.write_bytes(bytes(data))
    os.utime(copy, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert copy.stat().st_size == before.st_size and copy.stat().st_mtime_ns == before.st_mtime_ns
    assert zone_universe_key(world_countries=copy) != key


def test_forced_rebuild_and_an_unreadable_memo_read_every_input(tmp_path, monkeypatch):
    from seg3a.zones.cache import DIGEST_MEMO, REBUILD_ENV, STORE_ENV

    monkeypatch.setenv(STORE_ENV, str(tmp_path / "store"))
    key = zone_universe_key()
    reads = _reads_counted(monkeypatch)
    monkeypatch.setenv(REBUILD_ENV, "1")
    assert zone_universe_key() == key and "tz_world.parquet" in reads
    monkeypatch.delenv(REBUILD_ENV)
    (tmp_path / "store" / DIGEST_MEMO).write_text("{not json")
    reads.clear()
    assert zone_universe_key() == key and "tz_world.parquet" in reads
