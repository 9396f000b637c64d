"""Merchant-size-aware concentration (spec 06, ground truth 4): measures whether giving
chains a higher Dirichlet concentration than small merchants makes `zone_alloc` more
realistic, and how strongly.

The knob (seg3a.states.s3_concentration, zone_mixture_policy v1.2.0) scales each
escalated pair's concentration by a factor of its site count n in the country:

    g(n) = clamp((n / reference_sites) ** exponent, min_factor, max_factor)

so tau(m, c) = tau0(c) * g(n): a chain (large n) draws shares close to the population
mix, a merchant with a few outlets concentrates them in few zones, still drawn by
population (the Dirichlet mean stays the prior, whatever tau).

`sweep` measures candidates without rebuilding anything: it reuses the spread
machinery (spread.RunReplay: each seed's built run, redrawn under replay
fingerprints) and only scales each pair's S2 shapes by g(n) before the S3 sampler.
The population truth of each candidate keeps the candidate's per-pair concentration
(its alpha sums), exactly as truth_world does for a built run.

`python -m seg3a.realism.concentration --run ROOT ... --replays 100 --out FILE`.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from seg3a.states.s3_concentration import SiteCountConcentration

from . import certify, report, score, spread, truth_world


def label(candidate: SiteCountConcentration) -> str:
    if not candidate.enabled:
        return "constant"
    return (f"(n/{candidate.reference_sites:g})^{candidate.exponent:g} in "
            f"[{candidate.min_factor:g}, {candidate.max_factor:g}]")


# The candidates measured (docs/realism.md, "Merchant-size-aware concentration"); each
# replaces the run's own knob.
CANDIDATES: tuple[SiteCountConcentration, ...] = (
    SiteCountConcentration(),
    SiteCountConcentration(True, 0.5, 10.0, 0.5, 4.0),
    SiteCountConcentration(True, 1.0, 10.0, 0.25, 16.0),
)


def replay_candidate(run: spread.RunReplay, candidate: SiteCountConcentration, fingerprint: str,
                     truth_priors, truth_q: np.ndarray) -> dict[str, dict[str, Any]]:
    """Run and truth statistics of one replay with the candidate's per-pair factor. The
    truth world draws population shares `truth_q` (per run row) with the candidate's
    per-pair alpha sums, as truth_world does with a built run's."""
    r, first, pair = run.rows, run.first, run.pair
    batch = run.draw(fingerprint, candidate)
    tau = np.asarray(batch.alpha_sum, dtype=np.float64)[pair]
    truth_share = truth_world.dirichlet_draws(fingerprint, run.seed, r["merchant_id"], r["legal_country_iso"], first,
                                              tau * truth_q)
    truth_tables = truth_world.world_tables(truth_priors, r["merchant_id"], r["legal_country_iso"], r["tzid"],
                                            r["site_count"], pair, first, truth_share)
    return {"run": truth_world.world_values(run.world_of(batch), run.s1, run.population, with_conservation=True),
            "truth": truth_world.world_values(truth_tables, run.s1)}


def sweep(run_roots: Sequence[Path], candidates: Sequence[SiteCountConcentration] = CANDIDATES,
          replays: int = 100, progress: Callable[[str], None] = lambda _line: None) -> dict[str, Any]:
    """Per candidate, a measurement in spread.measure's format (replays 0..replays-1 of
    every seed's run under the replay fingerprints of spread)."""
    population = score.load_population()
    measured = {label(c): {"format": spread.FORMAT, "replays": replays, "label": spread.REPLAY_LABEL,
                          "candidate": asdict(c), "seeds": {}} for c in candidates}
    for seed, root in sorted(certify.runs_by_seed(run_roots).items()):
        run = spread.RunReplay.open(root, population["table"])
        try:
            truth_priors, truth_cols = truth_world.truth_rows(run.conn)
            fixed = run.fixed_values()
            for candidate in candidates:
                rows = []
                for index in range(replays):
                    fingerprint = spread.replay_fingerprint(run.fingerprint, index)
                    rows.append({"index": index, "manifest_fingerprint": fingerprint,
                                 **replay_candidate(run, candidate, fingerprint, truth_priors, truth_cols["q"])})
                measured[label(candidate)]["seeds"][str(seed)] = {
                    "run_fingerprint": run.fingerprint, "parameter_hash": run.ctx.tokens.parameter_hash,
                    "fixed": fixed, "replays": rows}
                progress(f"concentration: seed {seed}: {label(candidate)}: {replays} replays")
        finally:
            run.close()
    return measured


FIGURES = ("population.jsd", "tail.over_allocation", "tail.tail_ratio", "S3-main-std.median", "S3-std-norm.median",
           "S3-std.median", "S4-multi", "S3-z05.median", "S4-top1.median", "S4-top1.p75")


def summarise(measured: Mapping[str, Any]) -> dict[str, Any]:
    """Per candidate and seed: median / p90 / max of each figure, the share of replays
    with tail ratio > 1.5, and the replay verdicts with tolerances derived for it."""
    out = {}
    for label, m in measured.items():
        seeds = {}
        for seed, entry in m["seeds"].items():
            cells = {}
            for key in FIGURES:
                x = np.array([r["run"][key] for r in entry["replays"] if r["run"].get(key) is not None], dtype=float)
                cells[key] = {"median": float(np.median(x)), "p90": float(np.quantile(x, 0.9)), "max": float(x.max())}
            tail = np.array([r["run"]["tail.tail_ratio"] for r in entry["replays"]], dtype=float)
            cells["tail_ratio_above_1_5"] = float(np.mean(tail > 1.5))
            seeds[seed] = cells
        derivation = spread.derive_tolerances(m)
        out[label] = {"candidate": m["candidate"], "seeds": seeds, "tolerances": derivation["tolerances"],
                      "verdicts_shipped_tolerances": spread.replay_verdicts(m)}
    return out


def summary_lines(summary: Mapping[str, Any]) -> list[str]:
    lines = []
    for label, s in summary.items():
        lines.append(f"== {label}")
        for seed, cells in s["seeds"].items():
            lines.append(f"  seed {seed}: " + "; ".join(
                f"{k} {v['median']:.4g}/{v['p90']:.4g}/{v['max']:.4g}" for k, v in cells.items() if isinstance(v, dict))
                + f"; P(tail>1.5) {cells['tail_ratio_above_1_5']:.3f}")
        v = s["verdicts_shipped_tolerances"]
        lines.append(f"  derived tolerances {s['tolerances']}")
        lines.append(f"  verdicts (shipped tolerances) {v['verdicts']}; failing {v['failing_gates']}; "
                     f"targets missed {v['truth_targets_missed']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seg3a.realism.concentration",
                                     description="Measure site-count-aware concentration candidates on built runs.")
    parser.add_argument("--run", type=Path, action="append", dest="runs", required=True, metavar="RUN_ROOT")
    parser.add_argument("--replays", type=int, default=100)
    parser.add_argument("--candidates", type=int, nargs="+", metavar="INDEX",
                        help="indices into CANDIDATES (default: all)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    candidates = [CANDIDATES[i] for i in args.candidates] if args.candidates else CANDIDATES
    measured = sweep(args.runs, candidates, replays=args.replays, progress=lambda line: print(line, flush=True))
    summary = summarise(measured)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report.write_json(args.out, {"summary": summary})
    print("\n".join(summary_lines(summary)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
