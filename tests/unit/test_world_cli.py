"""Command line of the world generator."""
from __future__ import annotations

import pytest

from seg3a.world import cli, corrupt
from seg3a.world.generate import WorldError, generate_world


def test_help_lists_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--seed", "--pairs", "--runs-root", "--created-utc", "--corrupt"):
        assert option in text


def test_pairs_accepts_default_and_integers():
    parser = cli.build_parser()
    assert parser.parse_args(["--pairs", "default"]).pairs is None
    assert parser.parse_args(["--pairs", "5000"]).pairs == 5000
    with pytest.raises(SystemExit):
        parser.parse_args(["--pairs", "many"])


def test_bad_arguments_are_rejected_before_any_work(tmp_path, capsys):
    assert cli.main(["--corrupt", "bogus", "--runs-root", str(tmp_path), "--quiet"]) == 1
    assert "E3A_WORLD_ARGUMENT" in capsys.readouterr().err
    with pytest.raises(WorldError, match="rfc3339"):
        generate_world(42, None, tmp_path, tmp_path, created_utc="2026-01-01T00:00:00Z")
    with pytest.raises(WorldError, match="at least"):
        generate_world(42, 3, tmp_path, tmp_path)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("spec, expected", [
    ("missing_flag", ("missing_flag", "1A")),
    ("flipped_byte:2A", ("flipped_byte", "2A")),
    ("wrong_2a_digest", ("wrong_2a_digest", "2A")),
])
def test_corruption_specs(spec, expected):
    parsed = corrupt.parse(spec)
    assert (parsed.kind, parsed.segment) == expected


@pytest.mark.parametrize("spec", ["unsorted_2a_index:1A", "missing_flag:3A", "nonsense"])
def test_invalid_corruption_specs(spec):
    with pytest.raises(corrupt.CorruptionError):
        corrupt.parse(spec)
