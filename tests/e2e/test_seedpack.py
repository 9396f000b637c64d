"""`seg3a seedpack run` against the reference path: a seed built by the runner (dbt
in-process, one parsed manifest reused for the seeds of a lane) and the same world built
by `dbt build --select segment3a` (same world, same paths; the command line itself for
the seed built on the reused manifest) give the same bytes for every file under the run root (the operational run reports and segment_state_runs excepted, as in
test_s5_s7.py: they carry wall times).

Both take the Z(c) overlay from the store every build uses (build/zone-universe-cache/)
and read a private external root, as the fixtures do."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from seg3a import cli, seedpack
from seg3a.core.paths import default_external_root
from seg3a.world.generate import generate_world
from tests.e2e.conftest import POLICY_TEMPLATES, build_zone_universe, make_external_root, run_dbt
from tests.e2e.dbt_runner import PROCESS_SWITCH
from tests.e2e.test_s3_s4 import engine_commit, environment
from tests.e2e.test_s5_s7 import run_files

SEEDS = (42, 7)
PAIRS = 300


def test_help_names_the_options(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["seedpack", "run", "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    for option in ("--seeds", "--out", "--pairs", "--lanes", "--threads", "--json", "--quiet"):
        assert option in text


def test_repeated_seeds_are_refused(capsys, tmp_path):
    assert cli.main(["seedpack", "run", "--seeds", "42", "42", "--out", str(tmp_path)]) == 2
    assert "distinct" in capsys.readouterr().err


@pytest.mark.e2e
def test_runner_and_command_line_give_identical_run_roots(tmp_path, capfd):
    zone_db = build_zone_universe(tmp_path / "zc")
    out, timings = tmp_path / "pack", tmp_path / "timings.json"
    external = make_external_root(tmp_path, zone_db)  # policies frozen for both paths
    with environment(ENGINE_GIT_COMMIT=engine_commit(), SEG3A_EXTERNAL_ROOT=str(external)):
        # one lane: the second seed is built on the manifest the first one used
        code = cli.main(["seedpack", "run", "--seeds", *map(str, SEEDS), "--pairs", str(PAIRS),
                         "--out", str(out), "--lanes", "1", "--json", str(timings)])
        assert code == 0
        progress = capfd.readouterr().out  # printed by the lane processes
        assert "lane 0: seed 7 built" in progress and "seedpack built: 2 seeds" in progress
        report = json.loads(timings.read_text())
        assert [b["seed"] for b in report["builds"]] == list(SEEDS)
        for seed in SEEDS:
            # the command line builds the same world at the same paths (the run receipt
            # names its runs root), after the runner's run root is moved aside
            packed = Path(report["run_roots"][str(seed)])
            kept = tmp_path / "runner" / f"seed={seed}"
            kept.parent.mkdir(exist_ok=True)
            packed.parent.rename(kept)
            by_runner = run_files(kept / packed.name)
            assert any(rel.endswith("_passed.flag") for rel in by_runner)
            assert seedpack.seed_results(out, seed).is_file()
            runs, database = seedpack.seed_root(out, seed), seedpack.seed_database(out, seed)
            run_root = generate_world(seed, PAIRS, runs, default_external_root(), progress=lambda _line: None)
            assert run_root == packed
            database.unlink()
            # The seed built on the manifest another seed used is compared with the `dbt`
            # command itself; the lane's first seed with the tests' fork server, which builds
            # as the command does (test_dbt_forkserver.py) without its import and parse.
            command = {PROCESS_SWITCH: "1"} if seed == SEEDS[-1] else {}
            with environment(**command):
                result = run_dbt(["build", "--select", "segment3a"], runs, database, tmp_path / "cli" / f"work-{seed}")
            assert result.ok, result.output[-4000:]
            by_cli = run_files(run_root)
            assert by_runner == by_cli, sorted(set(by_runner.items()) ^ set(by_cli.items()))[:6]



@pytest.mark.e2e
def test_a_failed_build_names_its_node_and_error(tmp_path, capsys):
    """The builds log nothing to the terminal (dbt.log keeps it): the runner's error names
    each failed node with its coded message. Here S0 refuses a mixture policy whose
    site-count exponent is out of range (the world generator only hashes the policy)."""
    external = make_external_root(tmp_path, build_zone_universe(tmp_path / "zc"))
    policy = external / POLICY_TEMPLATES["zone_mixture_policy"]
    text = policy.read_text()
    assert text.count("exponent: 0.5") == 1
    policy.write_text(text.replace("exponent: 0.5", "exponent: 2.0"))
    with environment(ENGINE_GIT_COMMIT=engine_commit(), SEG3A_EXTERNAL_ROOT=str(external)):
        code = cli.main(["seedpack", "run", "--seeds", "42", "--pairs", str(PAIRS), "--out", str(tmp_path / "pack"),
                         "--quiet"])
    assert code == 1
    error = capsys.readouterr().err
    assert "dbt build failed for" in error and "model.seg3a.s0_gate_receipt_3A: " in error, error
    assert "E3A_S0_004_POLICY_SCHEMA_INVALID" in error and "exponent: 2.0 is not one of" in error, error
