"""`seg3a verify` on the real bundle of a full build: the bundle folder holds exactly
`index.json` and `_passed.flag` (spec 04 §3.2), and a symlink anywhere on the way to a
member, inside a member or in the bundle folder is refused with a message saying so."""
from __future__ import annotations

import shutil

import pytest

from seg3a.states.s7_members import FLAG_NAME, INDEX_NAME
from tests.e2e.conftest import Seg3aProject, s1s2_session  # noqa: F401  (fixture)
from tests.e2e.test_s5_s7 import full, verify_run  # noqa: F401  (fixture)


def replace_by_symlink(path) -> None:
    """Move `path` aside (same bytes, same tree) and leave a symlink to it."""
    aside = path.with_name(f"{path.name}.real")
    path.rename(aside)
    path.symlink_to(aside.name, target_is_directory=aside.is_dir())


@pytest.mark.e2e
@pytest.mark.parametrize("name", ["notes.txt", ".hidden", "index.json.bak"])
def test_extra_file_in_the_bundle_folder_fails(full: Seg3aProject, capsys, name):
    bundle = full.path("validation_bundle_3A")
    (bundle / name).write_bytes(b"x")
    code, output = verify_run(full, capsys)
    assert code == 1
    assert f"FAIL bundle folder holds entries other than {INDEX_NAME} and {FLAG_NAME}: ['{name}']" in output, output
    (bundle / name).unlink()
    assert verify_run(full, capsys)[0] == 0


@pytest.mark.e2e
def test_extra_directory_in_the_bundle_folder_fails(full: Seg3aProject, capsys):
    (full.path("validation_bundle_3A") / "extra").mkdir()
    code, output = verify_run(full, capsys)
    assert code == 1 and "['extra']" in output, output


@pytest.mark.e2e
@pytest.mark.parametrize("logical_id, inner", [
    ("zone_alloc", "part-00000.parquet"),        # a file inside a partition member
    ("zone_alloc", None),                        # the partition directory itself
    ("s0_gate_receipt_3A", None),                # a JSON member
    ("s2_country_zone_priors", None),
])
def test_member_replaced_by_a_symlink_is_refused(full: Seg3aProject, capsys, logical_id, inner):
    location = full.path(logical_id)
    replace_by_symlink(location / inner if inner else location)
    code, output = verify_run(full, capsys)
    assert code == 1
    assert f"FAIL member {logical_id} " in output and "is a symlink" in output, output
    assert "symlinks are refused" in output


@pytest.mark.e2e
@pytest.mark.parametrize("logical_id", ["rng_trace_log", "rng_event_zone_dirichlet"])
def test_rng_log_file_replaced_by_a_symlink_is_refused(full: Seg3aProject, capsys, logical_id):
    location = full.path(logical_id)
    target = sorted(location.parent.glob(location.name))[0]
    replace_by_symlink(target)
    code, output = verify_run(full, capsys)
    assert code == 1 and f"FAIL member {logical_id} " in output and "is a symlink" in output, output


@pytest.mark.e2e
def test_symlinked_parent_directory_is_refused(full: Seg3aProject, capsys):
    partition = full.path("zone_alloc")
    seed_dir = partition.parent
    replace_by_symlink(seed_dir)
    code, output = verify_run(full, capsys)
    assert code == 1 and "FAIL member zone_alloc path" in output and "is a symlink" in output, output


@pytest.mark.e2e
@pytest.mark.parametrize("name", [INDEX_NAME, FLAG_NAME])
def test_index_or_flag_replaced_by_a_symlink_is_refused(full: Seg3aProject, capsys, name):
    bundle = full.path("validation_bundle_3A")
    copy = full.run_root / f"copy-of-{name}"
    shutil.copyfile(bundle / name, copy)
    (bundle / name).unlink()
    (bundle / name).symlink_to(copy)
    code, output = verify_run(full, capsys)
    assert code == 1 and f"FAIL {name} is a symlink" in output, output
