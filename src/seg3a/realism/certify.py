"""`seg3a realism certify`: score every run of the seedpack (42, 7, 101, 202), evaluate
the gates per seed, the cross-seed CV of the primary medians and the verdict
(PASS_BPLUS / PASS_B / FAIL_REALISM), and write `certification.json`,
`certification.md` and one score directory per seed (`seed=<seed>/`).

Runs come from explicit run roots (--run, repeatable), from a runs root in which
the newest run of each seed is taken (--runs-root), or, through the API, from a
callable seed -> run root (e.g. the pipeline building each seed's world).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from seg3a.core.catalogue import CatalogueError
from seg3a.core.context import RunContext
from seg3a.core.identity import RECEIPT_NAME, RFC3339_MICROS, ReceiptError, parse_receipt

from . import gates, plots, report, score, truth

FORMAT = "seg3a-realism-certification/1"
CERT_JSON, CERT_MD = "certification.json", "certification.md"
RunSource = Sequence[Path] | Callable[[int], Path]

# ------------------------------------------------------------------ run selection


def runs_by_seed(run_roots: Sequence[Path]) -> dict[int, Path]:
    """seed -> run root from explicit run roots; two runs of one seed are an error."""
    chosen: dict[int, Path] = {}
    for root in run_roots:
        seed = parse_receipt(Path(root) / RECEIPT_NAME).seed
        if seed in chosen:
            raise ValueError(f"two runs for seed {seed}: {chosen[seed]} and {root}")
        chosen[seed] = Path(root)
    return chosen


def newest_runs(runs_root: Path, seeds: Sequence[int]) -> dict[int, Path]:
    """For each seed, the run under `runs_root` with the greatest created_utc (ties:
    the greater run_id), like the state's own receipt selection."""
    best: dict[int, tuple] = {}
    for path in sorted(Path(runs_root).glob(f"*/{RECEIPT_NAME}")):
        try:
            receipt = parse_receipt(path)
        except ReceiptError:
            continue
        created = receipt.created_utc if RFC3339_MICROS.match(receipt.created_utc) else ""
        key = (created, receipt.run_id)
        if receipt.seed in seeds and (receipt.seed not in best or key > best[receipt.seed][0]):
            best[receipt.seed] = (key, path.parent)
    return {seed: entry[1] for seed, entry in best.items()}


def resolve_runs(runs: RunSource, seeds: Sequence[int]) -> dict[int, Path]:
    if callable(runs):
        return {seed: Path(runs(seed)) for seed in seeds}
    return runs_by_seed(list(runs))


# ------------------------------------------------------------------ certification


def _blockers(identities: Mapping[int, Mapping[str, Any]]) -> list[str]:
    """Conditions that fail the certification whatever the gates say."""
    blockers = []
    hashes = sorted({i["parameter_hash"] for i in identities.values()})
    if len(hashes) > 1:
        blockers.append(f"runs use {len(hashes)} different parameter_hash values; a seedpack certifies one parameter set")
    mismatched = [s for s, i in identities.items() if i["seed"] != s]
    return blockers + [f"run given for seed {s} has seed {identities[s]['seed']}" for s in mismatched]


def _population_truth(per_seed: Mapping[int, Mapping[str, Any]], summary: Mapping[str, Any]) -> dict[str, Any]:
    means = {str(s): d["ground_truth"]["population"]["fidelity"]["jsd_outlet_weighted_mean"]
             if d["ground_truth"]["population"]["fidelity"] else None for s, d in per_seed.items()}
    known = [v for v in means.values() if v is not None]
    worst = max(known) if known else None
    return {"summary": dict(summary), "jsd_outlet_weighted_mean_by_seed": means,
            "jsd_worst_seed_mean": worst, "target": truth.JSD_TARGET,
            "target_met_on_every_seed": bool(known) and len(known) == len(means) and worst <= truth.JSD_TARGET}


def _universe_truth(per_seed: Mapping[int, Mapping[str, Any]], reference: Mapping[str, Any] | None) -> dict[str, Any]:
    """The run check is per seed but S2 is parameter-scoped: identical runs collapse
    to one entry."""
    by_seed = {str(s): d["ground_truth"]["zone_universe_run"] for s, d in per_seed.items()}
    distinct = {json.dumps(v, sort_keys=True) for v in by_seed.values()}
    run = next(iter(by_seed.values())) if len(distinct) == 1 else None
    return {"run": run, "run_by_seed": None if run is not None else by_seed, "reference": reference}


def certify(runs: RunSource, out: Path, *, seedpack: Sequence[int] = gates.SEEDPACK,
            band: Sequence[float] = gates.DEFAULT_ESCALATION_BAND, population: Mapping[str, Any] | None = None,
            zone_universe_reference: Mapping[str, Any] | None = None,
            progress: Callable[[str], None] = lambda _line: None) -> dict[str, Any]:
    """Score each seed's run into `out/seed=<seed>/`, then write the certification.
    `progress` gets one line per seed as it starts and ends (scoring takes seconds each)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    population = population or score.load_population()
    roots = resolve_runs(runs, seedpack)
    extra = sorted(s for s in roots if s not in seedpack)
    docs: dict[int, dict[str, Any]] = {}
    for seed in [s for s in seedpack if s in roots]:
        progress(f"certify: seed {seed}: scoring {roots[seed]}")
        started = time.monotonic()
        ctx = RunContext.from_run_root(roots[seed])
        result = score.score_run(ctx, band=band, population=population,
                                 zone_universe_reference=zone_universe_reference)
        written = score.write_score(result, out / f"seed={seed}")
        plot_names = {key: path.name for key, path in written.items() if path.suffix == ".png"}
        docs[seed] = dict(result.document, plots=plot_names)
        progress(f"certify: seed {seed}: scored in {time.monotonic() - started:.1f} s")
    document = certification_document(docs, seedpack, band, population["summary"], zone_universe_reference, extra)
    document["plots"] = {"primary_medians": _primary_plot(document, out, seedpack)}
    report.write_json(out / CERT_JSON, document)
    (out / CERT_MD).write_text("\n".join(certification_markdown(document, docs)), encoding="utf-8")
    rows = [r for s in docs for r in score.gate_rows(docs[s])]
    report.write_gate_table(out / score.GATES_PARQUET, rows + report.gate_table_rows(None, document["cross_seed"]))
    return document


def certification_document(docs: Mapping[int, Mapping[str, Any]], seedpack: Sequence[int], band: Sequence[float],
                           population_summary: Mapping[str, Any], reference: Mapping[str, Any] | None,
                           extra: Sequence[int] = ()) -> dict[str, Any]:
    """Gates, CV and verdict from per-seed score documents (pure)."""
    identities = {s: d["run"] for s, d in docs.items()}
    per_seed_values = {s: d["metrics"] for s, d in docs.items()}
    seed_results = {s: d["gates"] for s, d in docs.items()}
    cv_rows = gates.cross_seed_gates(per_seed_values, seedpack)
    outcome = gates.verdict(seed_results, cv_rows, seedpack, _blockers(identities))
    return {
        "format": FORMAT,
        "seedpack": list(seedpack),
        "seedpack_is_spec": tuple(seedpack) == gates.SEEDPACK,
        "escalation_band": [float(band[0]), float(band[1])],
        "runs": {str(s): dict(identities[s], score=f"seed={s}/{score.SCORE_JSON}") for s in docs},
        "extra_runs_ignored": list(extra),
        "per_seed": {str(s): {"metrics": per_seed_values[s], gates.B: seed_results[s][gates.B],
                              gates.BPLUS: seed_results[s][gates.BPLUS], "failed": seed_results[s]["failed"],
                              "judged_against_truth": seed_results[s]["judged_against_truth"],
                              "truth_targets": docs[s]["truth_targets"]} for s in docs},
        "gate_table": _gate_table(seed_results, seedpack, band),
        "cross_seed": cv_rows,
        "verdict": outcome["verdict"],
        "failed": outcome["failed"],
        "truth_targets": _truth_targets(docs, seedpack),
        "ground_truth": {"population": _population_truth(docs, population_summary),
                         "zone_universe": _universe_truth(docs, reference)},
        "conventions": report.CONVENTIONS,
    }


def _truth_targets(docs: Mapping[int, Mapping[str, Any]], seedpack: Sequence[int]) -> dict[str, Any]:
    """The ground-truth targets (JSD, over-allocation, tail ratio) per seed and whether
    they hold on every seed of the pack."""
    rows = []
    for target in gates.TRUTH_TARGETS:
        cells = {}
        for seed in seedpack:
            hit = next((t for t in docs[seed]["truth_targets"]["targets"] if t["gate"] == target.id), None) \
                if seed in docs else None
            cells[str(seed)] = None if hit is None else {"value": hit["value"], "status": hit[gates.B]["status"]}
        rows.append({"gate": target.id, "label": target.label, "target": target.b, "seeds": cells,
                     "met_on_every_seed": all(c is not None and c["status"] == gates.PASS for c in cells.values())})
    return {"targets": rows, "met_on_every_seed": all(r["met_on_every_seed"] for r in rows)}


def _gate_table(seed_results: Mapping[int, Mapping[str, Any]], seedpack: Sequence[int], band) -> list[dict[str, Any]]:
    """One row per gate with each seed's value, truth value, statuses and basis."""
    rows = []
    for gate in gates.all_gates(band):
        cells = {}
        for seed in seedpack:
            hit = next((g for g in seed_results.get(seed, {}).get("gates", []) if g["gate"] == gate.id), None)
            cells[str(seed)] = None if hit is None else {
                "value": hit["value"], "truth_value": hit["truth_value"], "note": report.truth_note(hit),
                gates.B: hit[gates.B]["status"], gates.BPLUS: hit[gates.BPLUS]["status"],
                "basis": {gates.B: hit[gates.B]["basis"], gates.BPLUS: hit[gates.BPLUS]["basis"]}}
        rows.append({"gate": gate.id, "label": gate.label, "meaning": gate.meaning, "op": gate.op,
                     gates.B: gate.b, gates.BPLUS: gate.bplus, "truth_relative": gate.truth_relative, "seeds": cells})
    return rows


def _primary_plot(document: Mapping[str, Any], out: Path, seedpack: Sequence[int]) -> str:
    per_seed = {int(s): v["metrics"] for s, v in document["per_seed"].items()}
    thresholds = {g.metric: (g.b, g.bplus) for g in gates.GATES if g.metric in gates.PRIMARY_MEDIANS}
    with plots.render_context():
        return plots.primary_medians(out / "primary_medians.png", per_seed, seedpack,
                                     {m: thresholds[m] for m in gates.PRIMARY_MEDIANS})


# ------------------------------------------------------------------ Markdown


def _cell(cell: Mapping[str, Any] | None) -> str:
    if cell is None:
        return "no run"
    marks = []
    for level, name in ((gates.B, "B"), (gates.BPLUS, "B+")):
        if cell[level] != "n/a":
            marks.append(f"{name} {cell[level]}" + ("*" if cell["basis"][level] == "truth" else ""))
    return f"{report.fmt(cell['value'])} ({'/'.join(marks)})"


def _truth_range(row: Mapping[str, Any]) -> str:
    values = [c["truth_value"] for c in row["seeds"].values() if c is not None and c["truth_value"] is not None]
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    return report.fmt(lo) if lo == hi else f"{report.fmt(lo)}-{report.fmt(hi)}"


def _gate_line(row: Mapping[str, Any], seeds: Sequence[str]) -> str:
    """One line per gate: what it measures, the truth's value and what judged it."""
    notes = sorted({row["seeds"][s]["note"] for s in seeds if row["seeds"][s] is not None})
    return f"- **{row['label']}** ({row['meaning']}): " + "; ".join(notes) + "."


def _headline(doc: Mapping[str, Any]) -> list[str]:
    meaning = {gates.VERDICT_BPLUS: "every seed meets the hard bar (B) and the stretch bar (B+)",
               gates.VERDICT_B: "every seed meets the hard bar (B); the stretch bar (B+) is missed somewhere",
               gates.VERDICT_FAIL: "at least one hard (B) requirement is missed"}[doc["verdict"]]
    lines = [f"# Realism certification: **{doc['verdict']}**", "", f"{meaning}. {report.LEVELS_EXPLAINED}", ""]
    targets = doc["truth_targets"]
    lines.append("Ground-truth targets (population JSD <= 0.05, over-allocation <= 0.01, tail ratio <= 1.5): "
                 + ("met on every seed." if targets["met_on_every_seed"] else "**NOT met on every seed**."))
    lines.append("")
    for level, name in ((gates.B, "B"), (gates.BPLUS, "B+")):
        if doc["failed"][level] and not (level == gates.BPLUS and doc["failed"][gates.B]):
            lines += [f"Failing {name}: " + ", ".join(doc["failed"][level]) + ".", ""]
    return lines


def _first_seed_lines(doc: Mapping[str, Any], docs: Mapping[int, Mapping[str, Any]]) -> list[str]:
    """The per-country table and the map and tail plots of the pack's first seed."""
    seed = next((s for s in doc["seedpack"] if s in docs), None)
    if seed is None:
        return []
    plots_of = docs[seed].get("plots", {})
    lines = score._country_lines(docs[seed]["ground_truth"]["population"]["fidelity"])
    if lines:
        lines[0] = lines[0].replace("## Countries with several zones", f"## Countries with several zones (seed {seed})")
    for key, alt in (("outlets_map", f"outlets per time zone, seed {seed}"), ("tails", f"zone tails, seed {seed}")):
        if plots_of.get(key):
            lines += report.image(f"seed={seed}/{plots_of[key]}", alt)
    return lines


def certification_markdown(doc: Mapping[str, Any], docs: Mapping[int, Mapping[str, Any]] | None = None) -> list[str]:
    """The certificate for people; `docs` (the per-seed score documents) add the first
    seed's per-country table and plots."""
    seeds = [str(s) for s in doc["seedpack"]]
    lines = _headline(doc)
    lines += [f"Seedpack {', '.join(seeds)}" + ("" if doc["seedpack_is_spec"] else " (not the spec's seedpack)") +
              f"; escalation band {report.fmt(doc['escalation_band'])}.", ""]
    lines += ["## Every gate against the population truth", "",
              "The truth is the same statistic on the run with priors equal to population shares. Where it fails a "
              "bar, or meets it by less than the statistic's run-to-run noise, that bar is replaced by the truth's value "
              f"within {report.fmt(gates.PRIOR_TOLERANCE * 100, 0)} % for the priors (S2) and within each drawn "
              "statistic's tolerance (" + ", ".join(f"{m} {report.fmt(t * 100, 0)} %" for m, t in
                                                    gates.DRAWN_TOLERANCES.items()) +
              "; the draws change with every engine commit, and replays of the draws show that a run of the shipped "
              "process fails some gate judged this way with probability at most 1 %); such cells are marked * in the "
              "table below.", ""]
    lines += [_gate_line(r, seeds) for r in doc["gate_table"]] + [""]
    lines += ["## Gates per seed", ""] + report.table(
        ["gate", "B", "B+", "truth"] + [f"seed {s}" for s in seeds],
        [[r["label"], report.fmt(r[gates.B]), report.fmt(r[gates.BPLUS]), _truth_range(r)] +
         [_cell(r["seeds"][s]) for s in seeds] for r in doc["gate_table"]])
    lines += ["## Ground-truth targets per seed", ""] + report.table(
        ["target", "bar"] + [f"seed {s}" for s in seeds] + ["every seed"],
        [[t["label"], f"<= {report.fmt(t['target'])}"] +
         [report.fmt(t["seeds"][s]["value"]) if t["seeds"][s] else "no run" for s in seeds] +
         ["met" if t["met_on_every_seed"] else "NOT met"] for t in doc["truth_targets"]["targets"]])
    lines += ["## Cross-seed coefficient of variation", ""] + report.table(
        ["metric"] + [f"seed {s}" for s in seeds] + ["CV", "B (<= 0.25)", "B+ (<= 0.15)"],
        [[r["metric"]] + [report.fmt(r["values"][s]) for s in seeds] +
         [report.fmt(r["value"]), r[gates.B]["status"], r[gates.BPLUS]["status"]] for r in doc["cross_seed"]])
    lines += report.image(doc.get("plots", {}).get("primary_medians"), "primary medians per seed")
    lines += _first_seed_lines(doc, docs or {})
    lines += _truth_lines(doc)
    lines += ["## Runs", ""] + report.table(
        ["seed", "run_id", "parameter_hash", "report"],
        [[s, f"`{r['run_id']}`", f"`{r['parameter_hash'][:16]}...`", f"[score](seed={s}/{score.SCORE_MD})"]
         for s, r in doc["runs"].items()])
    return lines + report.conventions_lines()


def _truth_lines(doc: Mapping[str, Any]) -> list[str]:
    pop = doc["ground_truth"]["population"]
    summary = pop["summary"]
    lines = ["## Ground truth", "",
             f"- Population: {summary['countries_multi_zone']} real multi-zone countries, median top-1 population share "
             f"{report.fmt(summary['top1_median'])} (p75 {report.fmt(summary['top1_p75'])}).",
             f"- Outlet-weighted JSD of zone_alloc vs population per seed: "
             + ", ".join(f"{s}: {report.fmt(v)}" for s, v in pop["jsd_outlet_weighted_mean_by_seed"].items())
             + f" (target <= {pop['target']}: {'met' if pop['target_met_on_every_seed'] else 'not met'} on every seed)."]
    universe = doc["ground_truth"]["zone_universe"]
    for name, entry in (("run S2", universe["run"]), ("reference evaluator", universe["reference"])):
        if entry and entry.get("status") == "scored":
            n = entry["as_named"]
            lines.append(f"- Z(c) ({name}) vs zone.tab: precision {report.fmt(n['precision'])}, recall "
                         f"{report.fmt(n['recall'])} (target >= {entry['target']}: {'met' if entry['target_met'] else 'not met'}).")
    return lines + [""]


# ------------------------------------------------------------------ command


def _seeds(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seg3a realism certify",
        description="Certify the seedpack against spec 06: per-seed gates, cross-seed CV, verdict and ground truth. "
                    f"Writes {CERT_JSON}, {CERT_MD} and seed=<seed>/ score directories into --out. "
                    "Exit status 0 for PASS_BPLUS or PASS_B, 1 for FAIL_REALISM, 2 for bad input.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", type=Path, action="append", dest="runs", metavar="RUN_ROOT",
                        help="a run root (directory holding run_receipt.json); repeat once per seed")
    source.add_argument("--runs-root", type=Path, help="take the newest run of each seed under this directory")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--seeds", type=_seeds, default=list(gates.SEEDPACK),
                        help="comma-separated seedpack (default: 42,7,101,202, the spec's)")
    score.band_argument(parser)
    score.zone_universe_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        runs = args.runs if args.runs else list(newest_runs(args.runs_root, args.seeds).values())
        reference = score.zone_universe_reference(args)
        document = certify(runs, args.out, seedpack=args.seeds, band=args.escalation_band,
                           zone_universe_reference=reference, progress=lambda line: print(line, flush=True))
    except (ReceiptError, CatalogueError, ValueError, FileNotFoundError) as exc:
        print(f"seg3a realism certify: {exc}", file=sys.stderr)
        return 2
    print(f"{document['verdict']}; wrote {args.out / CERT_JSON} and {args.out / CERT_MD}")
    return 0 if document["verdict"] != gates.VERDICT_FAIL else 1


if __name__ == "__main__":
    sys.exit(main())
