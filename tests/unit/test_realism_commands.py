"""The two realism commands on small synthetic runs: outputs, determinism, exit codes,
run selection and the certification's blockers."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from seg3a.core.catalogue import Catalogue, Tokens, resolve_physical
from seg3a.core.cjson import cj_bytes
from seg3a.core.identity import RECEIPT_NAME, parse_receipt
from seg3a.realism import certify, gates, score
from seg3a.realism.fixtures import write_synthetic_run


RUN_PLOTS = {"prior_top1.png", "share_std.png", "realised_zones.png", "top1_count_share.png",
             "escalation_curve.png", "population_vs_allocation.png", "tails.png", "outlets_map.png"}


@pytest.fixture(scope="module")
def population():
    return score.load_population()


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("realism") / "runs"
    for seed in gates.SEEDPACK:
        write_synthetic_run(root, seed)
    return root


def _files(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("module", [score, certify])
def test_help(module, capsys):
    with pytest.raises(SystemExit) as exc:
        module.main(["--help"])
    assert exc.value.code == 0
    assert "--out" in capsys.readouterr().out


@pytest.fixture(scope="module")
def certified(runs_root, population, tmp_path_factory) -> tuple[Path, dict, list[str]]:
    """The seedpack's certification with every plot drawn (output folder, document,
    progress lines): made once, read by the certify test and, for seed 42, by the score
    test, which compares it with a score of its own."""
    out = tmp_path_factory.mktemp("certified")
    roots = [p.parent for p in sorted(runs_root.glob(f"*/{RECEIPT_NAME}"))]
    lines: list[str] = []
    doc = certify.certify(roots, out, population=population, progress=lines.append)
    return out, doc, lines


def test_score_writes_reports_and_plots_deterministically(runs_root, tmp_path, certified):
    """`seg3a realism score` of seed 42 writes the same bytes as another computation of
    that score from the same run: the certification's folder for seed 42."""
    run_id = next(p.parent.name for p in sorted(runs_root.glob(f"*/{RECEIPT_NAME}"))
                  if parse_receipt(p).seed == 42)
    args = ["--runs-root", str(runs_root), "--run-id", run_id]
    assert score.main(args + ["--out", str(tmp_path / "a")]) == 0
    first, second = _files(tmp_path / "a"), _files(certified[0] / "seed=42")
    assert first == second
    assert {"score.json", "score.md", *RUN_PLOTS} <= set(first)
    doc = json.loads(first["score.json"])
    assert doc["run"]["seed"] == 42 and doc["run"]["run_id"] == run_id
    assert set(doc["inputs"]) == {"s1_escalation_queue", "s2_country_zone_priors", "s3_zone_shares",
                                  "s4_zone_counts", "zone_alloc"}
    assert all(b["status"] == "bound" for b in doc["inputs"].values())
    assert doc["metrics"]["CONS.s4"] == 0 and doc["gates"][gates.B] is True
    assert b"Software" not in first["prior_top1.png"]
    assert "![escalation curve](escalation_curve.png)" in first["score.md"].decode()
    import duckdb

    table = duckdb.connect().execute(
        f"SELECT gate, b_status FROM read_parquet('{tmp_path / 'a' / score.GATES_PARQUET}') ORDER BY gate").fetchall()
    assert ("CONS.s4", "pass") in table and len(table) == len(gates.all_gates()) + len(gates.TRUTH_TARGETS)


def _copy_run(run_root: Path, target_root: Path) -> Path:
    target = target_root / run_root.name
    shutil.copytree(run_root, target)
    return target


def test_score_survives_a_missing_dataset(runs_root, tmp_path, population):
    source = next(p.parent for p in runs_root.glob(f"*/{RECEIPT_NAME}") if parse_receipt(p).seed == 7)
    run = _copy_run(source, tmp_path / "runs")
    receipt = parse_receipt(run / RECEIPT_NAME)
    tokens = Tokens(receipt.seed, receipt.parameter_hash, receipt.manifest_fingerprint, receipt.run_id)
    shutil.rmtree(resolve_physical(Catalogue().render("zone_alloc", tokens), run, []))
    from seg3a.core.context import RunContext

    result = score.score_run(RunContext.from_receipt(receipt), population=population)
    doc = result.document
    assert doc["inputs"]["zone_alloc"]["status"] == "missing"
    assert doc["metrics"]["ZA-top1.median"] is None and doc["metrics"]["S4-multi"] is not None
    assert "ZA-top1.median" in doc["gates"]["failed"][gates.B]
    assert doc["ground_truth"]["population"]["fidelity"] is None
    score.write_score(result, tmp_path / "out")
    assert (tmp_path / "out" / "population_vs_allocation.png").is_file()


def test_certify_seedpack(runs_root, certified):
    out, doc, lines = certified
    roots = [p.parent for p in sorted(runs_root.glob(f"*/{RECEIPT_NAME}"))]
    # One line as each seed starts and one as it ends, in seedpack order.
    assert [line.split(":")[1].strip() for line in lines] == [f"seed {s}" for s in gates.SEEDPACK for _ in (0, 1)]
    assert all(line.startswith("certify: ") for line in lines)
    by_callable = certify.resolve_runs(lambda s: certify.newest_runs(runs_root, [s])[s], gates.SEEDPACK)
    assert by_callable == certify.resolve_runs(roots, gates.SEEDPACK)
    assert (out / "certification.json").read_bytes() == cj_bytes(doc)
    assert doc["verdict"] in ("PASS_BPLUS", "PASS_B", "FAIL_REALISM")
    assert set(doc["runs"]) == {"42", "7", "101", "202"}
    assert [r["metric"] for r in doc["cross_seed"]] == list(gates.PRIMARY_MEDIANS)
    for s in gates.SEEDPACK:
        assert (out / f"seed={s}" / "score.json").is_file()
        assert RUN_PLOTS <= {p.name for p in (out / f"seed={s}").glob("*.png")}
    # Priors are parameter-scoped: identical across seeds, so their CV is 0.
    assert next(r for r in doc["cross_seed"] if r["metric"] == "S2-top1.median")["value"] == 0.0
    # Every gate on S2..S5 carries the population truth's value on every seed; S1 and CONS none.
    for row in doc["gate_table"]:
        truths = [c["truth_value"] for c in row["seeds"].values()]
        assert all(t is not None for t in truths) if row["truth_relative"] else all(t is None for t in truths), row
    # The truth's priors are parameter-scoped like the run's: one S2-top1 truth on every seed.
    s2 = next(r for r in doc["gate_table"] if r["gate"] == "S2-top1.median")
    assert len({c["truth_value"] for c in s2["seeds"].values()}) == 1
    text = (out / "certification.md").read_text()
    assert text.startswith(f"# Realism certification: **{doc['verdict']}**")
    section = text.split("## Every gate against the population truth")[1].split("## Gates per seed")[0]
    assert sum(line.startswith("- **") for line in section.splitlines()) == len(gates.all_gates())
    assert [t["gate"] for t in doc["truth_targets"]["targets"]] == [t.id for t in gates.TRUTH_TARGETS]
    assert "## Countries with several zones (seed 42)" in text and "](seed=42/outlets_map.png)" in text


def test_certify_command_missing_seed_fails(runs_root, tmp_path, plots_not_drawn):
    run = next(p.parent for p in runs_root.glob(f"*/{RECEIPT_NAME}") if parse_receipt(p).seed == 42)
    assert certify.main(["--run", str(run), "--seeds", "42,7", "--out", str(tmp_path / "cert")]) == 1
    doc = json.loads((tmp_path / "cert" / "certification.json").read_bytes())
    assert doc["verdict"] == "FAIL_REALISM" and "seed 7: no score" in doc["failed"][gates.B]
    assert doc["seedpack_is_spec"] is False


def test_certify_rejects_two_runs_of_one_seed(runs_root, tmp_path, capsys):
    run = next(p.parent for p in runs_root.glob(f"*/{RECEIPT_NAME}"))
    assert certify.main(["--run", str(run), "--run", str(run), "--out", str(tmp_path / "x")]) == 2
    assert "two runs for seed" in capsys.readouterr().err


def test_certify_blocks_mixed_parameter_hashes(runs_root, tmp_path, population, plots_not_drawn):
    other = write_synthetic_run(tmp_path / "runs", 202, parameter_hash="b" * 64)
    roots = [p.parent for p in runs_root.glob(f"*/{RECEIPT_NAME}") if parse_receipt(p).seed == 42] + [other]
    doc = certify.certify(roots, tmp_path / "cert", seedpack=(42, 202), population=population)
    assert doc["verdict"] == "FAIL_REALISM"
    assert any("parameter_hash" in reason for reason in doc["failed"][gates.B])


def test_newest_runs_picks_the_latest_receipt_per_seed(tmp_path):
    old = write_synthetic_run(tmp_path, 42)
    new = write_synthetic_run(tmp_path, 42, parameter_hash="c" * 64)
    receipt = json.loads((new / RECEIPT_NAME).read_text())
    receipt["created_utc"] = "2026-02-01T00:00:00.000000Z"
    (new / RECEIPT_NAME).write_text(json.dumps(receipt))
    assert certify.newest_runs(tmp_path, [42, 7]) == {42: new}
    assert old != new
