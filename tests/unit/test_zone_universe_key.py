"""The Z(c) cache key (seg3a.zones.cache): the same inputs give the same key wherever the
project lies; any change to a zone-universe model or reference staging model gives a new
one, so a cached Z(c) is never reused for other SQL."""
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
