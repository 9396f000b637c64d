"""One strict policy loader for every state: a policy with a key repeated at any depth,
bytes that are not UTF-8 or a root that is not a mapping is refused at S0 with
E3A_S0_004 (before any state publishes), and every later state's loader refuses it too."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from seg3a.core import yaml_io
from seg3a.states.s0_gate import S0Failure, run_s0
from seg3a.states.s2_priors import StringKeyLoader
from tests.conftest import context_of
from tests.negative.test_s0_errors import private_external_root, s0_outputs

MIXTURE = "config/layer1/3A/policy/zone_mixture_policy.yaml"
ALPHAS = "config/layer1/3A/allocation/country_zone_alphas.yaml"
FLOOR = "config/layer1/3A/allocation/zone_floor_policy.yaml"
DAY_EFFECT = "config/layer1/2B/policy/day_effect_policy_v1.json"


def duplicate_line_after(anchor: str, line: str):
    """Insert `line` right after the first line starting with `anchor` (a second copy of
    a key the document already has, with another value)."""
    def edit(text: str) -> str:
        lines = text.splitlines(keepends=True)
        at = next(i for i, existing in enumerate(lines) if existing.startswith(anchor))
        return "".join(lines[:at + 1] + [line] + lines[at + 1:])
    return edit


CASES = {
    # (file, edit of its text, what the failure names)
    "top_level_theta_mix": (MIXTURE, duplicate_line_after("theta_mix:", "theta_mix: 0.9\n"), "duplicate key 'theta_mix'"),
    "nested_alpha_floor": (MIXTURE, duplicate_line_after("  alpha_floor:", "  alpha_floor: 0.5\n"),
                           "duplicate key 'alpha_floor'"),
    "bool_spellings": (MIXTURE, lambda t: t + "extra: {yes: 1, true: 2}\n", "duplicate key"),
    "quoted_and_plain_NO": (FLOOR, lambda t: t + "extra: {NO: 1, 'NO': 2}\n", "duplicate key 'NO'"),
    "alphas_version": (ALPHAS, duplicate_line_after("version:", "version: v9.9.9\n"), "duplicate key 'version'"),
    "root_is_a_list": (MIXTURE, lambda t: "- " + t.replace("\n", "\n  ").rstrip() + "\n", "not a mapping"),
    "root_is_a_scalar": (FLOOR, lambda t: "just text\n", "not a mapping"),
    "latin1_byte": (MIXTURE, lambda t: t.replace("# zone_mixture_policy", "# zone_mixture_policy \udce9", 1),
                    "not UTF-8"),
    "json_duplicate_key": (DAY_EFFECT, lambda t: t.replace("{", '{"policy_id": "x", ', 1), "duplicate key 'policy_id'"),
    "json_root_is_a_list": (DAY_EFFECT, lambda t: "[" + t + "]", "not a mapping"),
}


def write_edited(path: Path, edit) -> bytes:
    text = path.read_bytes().decode("utf-8")
    data = edit(text).encode("utf-8", "surrogateescape")
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("case", sorted(CASES))
def test_s0_refuses_the_policy_with_004_and_publishes_nothing(world_copy, tmp_path, case):
    relpath, edit, named = CASES[case]
    external = private_external_root(world_copy, tmp_path)
    write_edited(external / relpath, edit)
    with pytest.raises(S0Failure) as info:
        run_s0(context_of(world_copy))
    failure = info.value
    assert failure.code == "E3A_S0_004_POLICY_SCHEMA_INVALID", f"got {failure.code}: {failure}"
    assert failure.context["logical_id"] == Path(relpath).stem
    assert named in str(failure), str(failure)
    assert s0_outputs(world_copy) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_state_loader_refuses_what_s0_refuses(tmp_path, case):
    """S1/S3/S6 read with the default strict loader, S2/S5 with the string-key loader."""
    relpath, edit, _named = CASES[case]
    path = tmp_path / Path(relpath).name
    path.write_bytes((Path(__file__).resolve().parents[2] / relpath).read_bytes())
    data = write_edited(path, edit)
    for loader in (None, StringKeyLoader):
        with pytest.raises(yaml.YAMLError):
            yaml_io.load_mapping(data, path.suffix, loader)


def test_the_shipped_policies_load_strictly():
    root = Path(__file__).resolve().parents[2]
    for relpath in (MIXTURE, ALPHAS, FLOOR, DAY_EFFECT):
        for loader in (None, StringKeyLoader):
            assert isinstance(yaml_io.load_policy_file(root / relpath, loader), dict)
