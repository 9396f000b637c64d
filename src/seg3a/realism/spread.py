"""How far a run's drawn gate statistics fall from the population truth's by chance,
and the tolerances DRAWN_TOLERANCES (gates.py) that follow from it.

S3 draws its Dirichlet shares from Philox substreams keyed by `manifest_fingerprint`,
which covers the engine commit: every commit redraws S3, S4 and zone_alloc, while S1
(keyed by parameter_hash) and S2 stay. A gate judged against the truth compares the
run's statistic with the truth world's (truth_world: the run with population priors,
drawn on the same substreams). This module measures the spread of that comparison
over many draw identities:

- **Replays**: for each seed's built run and replay k = 0..n-1, a fingerprint
  `sha256("seg3a-realism-replay|<run fingerprint>|<k>")` stands in for a new engine
  commit (the fingerprint only enters the draws through SHA-256 in master_material, so
  any other 64-hex value gives an equally independent stream). The run's S3 draw is
  repeated with the project's sampler on the run's own S2 shapes, dispersion policy and
  parameter_hash, integerised like S4; the truth world is drawn under the same
  fingerprint. Before any replay, the run's own fingerprint must reproduce the run's
  published `share_drawn` and `zone_site_count` bit for bit (else ReplayMismatch), so a
  replay is exactly what a build at another commit would publish.
- **Shortfall**: per drawn gate, d = the relative distance of the run's value from the
  truth's in the gate's failing direction (`ge`: 1 - run/truth, `le`: run/truth - 1).
  A gate judged against the truth passes exactly when d <= tolerance.
- **Rule** (derive_tolerances): a run of the shipped process may fail a gate judged
  against the truth, on any seed of the pack, with probability at most
  FAMILY_FALSE_FAIL (1 %). Bonferroni over the drawn gates x seeds gives each
  (gate, seed) test p = 0.01 / (7 x 4). Per (gate, seed), the level d exceeds with
  probability p comes from an exponential fitted to the upper 10 % of its replays
  (tail_bound; d's right tail is heavier than a normal's: S3-std's median over groups
  jumps when the groups near the median change); a gate's bound is the largest over
  the seeds, and its tolerance that bound rounded up to a whole percent, at least 1 %
  (a statistic without measured spread, like an integer median, still gets the
  rounding unit rather than an exact comparison).

`python -m seg3a.realism.spread --run ROOT ... --out FILE` measures and derives;
`--derive FILE` derives again from a stored measurement (docs/realism_spread.json).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pyarrow as pa

from seg3a.core import yaml_io
from seg3a.core.context import RunContext
from seg3a.states.s3_concentration import SiteCountConcentration

from . import certify, data, gates, metrics, report, score, truth, truth_world

FORMAT = "seg3a-realism-spread/1"
REPLAY_LABEL = "seg3a-realism-replay"
DEFAULT_REPLAYS = 200
FAMILY_FALSE_FAIL = 0.01
TAIL_FRACTION = 0.10
MIN_TOLERANCE = 0.01
MIN_SAMPLE = 30
MIXTURE_POLICY = "zone_mixture_policy"

# The gates whose statistic is drawn (S3, S4, zone_alloc) and that have a truth value.
DRAWN_GATES: tuple[gates.Gate, ...] = tuple(g for g in gates.GATES if g.truth_relative and not g.metric.startswith("S2"))
# The ground-truth targets and variety figures, recorded beside the gates.
RECORDED = tuple(g.metric for g in gates.TRUTH_TARGETS) + ("S3-main-std.median", "S3-std-norm.median")


class ReplayMismatch(RuntimeError):
    """The run's own fingerprint does not reproduce its published draws or counts."""


def replay_fingerprint(manifest_fingerprint: str, index: int) -> str:
    return hashlib.sha256(f"{REPLAY_LABEL}|{manifest_fingerprint}|{index}".encode("ascii")).hexdigest()


# ------------------------------------------------------------------ replays

_RUN_ROWS_SQL = """
    SELECT s3.merchant_id, s3.legal_country_iso, s3.tzid, s2.alpha_effective, s1.site_count::BIGINT AS site_count,
           s3.share_drawn, s4.zone_site_count
    FROM s3_zone_shares s3
    JOIN s2_country_zone_priors s2 ON s2.country_iso = s3.legal_country_iso AND s2.tzid = s3.tzid
    JOIN s1_escalation_queue s1 ON s1.merchant_id = s3.merchant_id AND s1.legal_country_iso = s3.legal_country_iso
    JOIN s4_zone_counts s4 ON s4.merchant_id = s3.merchant_id AND s4.legal_country_iso = s3.legal_country_iso
                           AND s4.tzid = s3.tzid
    ORDER BY s3.merchant_id, s3.legal_country_iso, s3.tzid"""


@dataclass
class RunReplay:
    """One built run, loaded once; `world(fp)` redraws it under another fingerprint."""

    ctx: RunContext
    conn: Any
    population: pa.Table
    rows: dict[str, np.ndarray]
    pair: np.ndarray
    first: np.ndarray
    dispersion: Any
    concentration: SiteCountConcentration
    s1: pa.Table
    priors: pa.Table

    @classmethod
    def open(cls, run_root: Path, population: pa.Table) -> "RunReplay":
        from python_udfs.rng import Dispersion

        ctx = RunContext.from_run_root(run_root)
        conn = data.connect()
        data.bind_run(conn, ctx)
        truth.bind_population(population, conn)
        rows = metrics.fetch_columns(conn, _RUN_ROWS_SQL)
        rows["merchant_id"] = rows["merchant_id"].astype(np.uint64)
        rows["legal_country_iso"] = rows["legal_country_iso"].astype(str)
        pair, first = truth_world._pair_index(rows["merchant_id"], rows["legal_country_iso"])
        policy = yaml_io.load(ctx.path(MIXTURE_POLICY).read_bytes())
        priors = conn.execute("SELECT country_iso, tzid, share_effective FROM s2_country_zone_priors "
                              "ORDER BY 1, 2").fetch_arrow_table()
        block = policy.get("s3_dispersion")
        return cls(ctx, conn, population, rows, pair, first, Dispersion.from_mapping(block),
                   SiteCountConcentration.from_dispersion(block), truth_world.escalation_queue(conn), priors)

    @property
    def seed(self) -> int:
        return int(self.ctx.tokens.seed)

    @property
    def fingerprint(self) -> str:
        return self.ctx.tokens.manifest_fingerprint

    def draw(self, fingerprint: str, concentration: SiteCountConcentration | None = None):
        """The run's S3 draw under `fingerprint`: S3's sampler call on the run's S2 shapes
        scaled by the site-count factor (the run's policy knob unless `concentration`)."""
        from python_udfs.rng import dirichlet_batch

        r, first = self.rows, self.first
        alpha = (concentration or self.concentration).scaled(r["alpha_effective"], r["site_count"])
        return dirichlet_batch(fingerprint, self.seed, r["merchant_id"][first], r["legal_country_iso"][first].tolist(),
                               alpha, np.append(first, alpha.size),
                               dispersion=self.dispersion, parameter_hash=self.ctx.tokens.parameter_hash)

    def world(self, fingerprint: str, concentration: SiteCountConcentration | None = None) -> dict[str, pa.Table]:
        return self.world_of(self.draw(fingerprint, concentration))

    def world_of(self, batch) -> dict[str, pa.Table]:
        """S2..S5 tables of a drawn batch (S4's integerisation of its shares)."""
        r = self.rows
        return truth_world.world_tables(self.priors, r["merchant_id"], r["legal_country_iso"], r["tzid"],
                                        r["site_count"], self.pair, self.first,
                                        np.asarray(batch.shares, dtype=np.float64))

    def check_reproduces_run(self) -> None:
        """The run's own fingerprint must give its published shares and counts exactly."""
        world = self.world(self.fingerprint)
        shares = world["s3_zone_shares"].column("share_drawn").to_numpy()
        counts = world["s4_zone_counts"].column("zone_site_count").to_numpy()
        if not np.array_equal(shares, self.rows["share_drawn"]):
            raise ReplayMismatch(f"seed {self.seed}: replaying the run's fingerprint does not reproduce share_drawn "
                                 f"({int(np.count_nonzero(shares != self.rows['share_drawn']))} rows differ)")
        if not np.array_equal(counts, self.rows["zone_site_count"]):
            raise ReplayMismatch(f"seed {self.seed}: replaying the run's fingerprint does not reproduce "
                                 f"zone_site_count ({int(np.count_nonzero(counts != self.rows['zone_site_count']))} rows differ)")

    def replay(self, fingerprint: str) -> dict[str, dict[str, Any]]:
        """Gate statistics of the run and of the truth world under `fingerprint`."""
        run = truth_world.world_values(self.world(fingerprint), self.s1, self.population, with_conservation=True)
        truth_tables = truth_world.truth_tables(self.conn, self.seed, fingerprint)
        return {"run": run, "truth": truth_world.world_values(truth_tables, self.s1)}

    def fixed_values(self) -> dict[str, Any]:
        """The run's statistics that no fingerprint changes (S1, S2) and the S2 truth."""
        values = metrics.flat_values(metrics.compute_all(self.conn, set(data.DATASETS)))
        truth_s2 = truth_world.truth_values(self.conn, set(data.DATASETS), data.run_identity(self.ctx),
                                            self.population)
        return {"run": {k: values[k] for k in ("S1-rate", "S1-curve.major_dip", "S2-top1.median", "S2-top1.p75",
                                               "S2-ge99")},
                "truth": {k: truth_s2[k] for k in ("S2-top1.median", "S2-top1.p75", "S2-ge99")}}

    def close(self) -> None:
        self.conn.close()


def measure(run_roots: Sequence[Path], replays: int = DEFAULT_REPLAYS, population: Mapping[str, Any] | None = None,
            progress: Callable[[str], None] = lambda _line: None) -> dict[str, Any]:
    """Replays 0..replays-1 of every run (one per seed)."""
    population = population or score.load_population()
    seeds: dict[str, Any] = {}
    for seed, root in sorted(certify.runs_by_seed(run_roots).items()):
        run = RunReplay.open(root, population["table"])
        try:
            run.check_reproduces_run()
            rows = []
            for index in range(replays):
                fingerprint = replay_fingerprint(run.fingerprint, index)
                rows.append({"index": index, "manifest_fingerprint": fingerprint, **run.replay(fingerprint)})
            seeds[str(seed)] = {"run_fingerprint": run.fingerprint, "parameter_hash": run.ctx.tokens.parameter_hash,
                                "fixed": run.fixed_values(), "replays": rows}
            progress(f"spread: seed {seed}: {replays} replays")
        finally:
            run.close()
    return {"format": FORMAT, "replays": replays, "label": REPLAY_LABEL, "seeds": seeds}


# ------------------------------------------------------------------ the rule


def shortfall(op: str, value: float, truth_value: float) -> float:
    """Relative distance of `value` from the truth in the gate's failing direction: a
    gate judged against the truth with tolerance t passes exactly when this is <= t."""
    return value / truth_value - 1.0 if op == "le" else 1.0 - value / truth_value


def tail_bound(sample: Sequence[float], p: float, tail_fraction: float = TAIL_FRACTION) -> float:
    """The level one more draw of the sample's process exceeds with probability p,
    from an exponential fitted to the sample's upper tail (peaks over threshold):
    u = the (1 - tail_fraction) quantile, m = the mean excess of the values above u,
    f = their share; bound = u + m * ln(f / p). Exact for an exponential tail and
    above the true level for a lighter one (normal); a sample without values above u
    has bound u. Needs p below f (the fit only extrapolates)."""
    x = np.asarray(sample, dtype=np.float64)
    if x.size < MIN_SAMPLE:
        raise ValueError(f"a tail bound needs at least {MIN_SAMPLE} values, got {x.size}")
    u = metrics.quantile(x, 1.0 - tail_fraction)
    excess = x[x > u] - u
    if excess.size == 0:
        return u
    share = excess.size / x.size
    if not p < share:
        raise ValueError(f"probability {p} is not below the tail share {share}: no extrapolation needed")
    return u + float(excess.mean()) * math.log(share / p)


def per_test_probability(n_gates: int, n_seeds: int, family: float = FAMILY_FALSE_FAIL) -> float:
    """Bonferroni: the family's false-fail probability shared over every (gate, seed)."""
    return family / (n_gates * n_seeds)


def round_up_percent(value: float) -> float:
    return math.ceil(round(value * 100.0, 9)) / 100.0


def derive_tolerance(samples_by_seed: Mapping[Any, Sequence[float]], p: float) -> dict[str, Any]:
    """One gate: each seed's shortfall sample -> its bound; the gate's bound is the
    largest (a seed the bound does not cover would fail more often than p)."""
    bounds = {str(s): tail_bound(x, p) for s, x in samples_by_seed.items()}
    return {"bound": max(bounds.values()), "bound_by_seed": bounds}


def shortfalls(measured: Mapping[str, Any], gate: gates.Gate) -> dict[str, list[float]]:
    """Per seed, the gate's shortfall in every replay (replays with a missing or zero
    truth value cannot be judged against the truth and are left out)."""
    out = {}
    for seed, entry in measured["seeds"].items():
        pairs = [(r["run"].get(gate.metric), r["truth"].get(gate.metric)) for r in entry["replays"]]
        out[seed] = [shortfall(gate.op, v, t) for v, t in pairs if v is not None and t]
    return out


def _summary(x: Sequence[float]) -> dict[str, Any]:
    a = np.asarray(x, dtype=np.float64)
    return {"n": int(a.size), "mean": float(a.mean()), "sd": float(a.std(ddof=1)), "min": float(a.min()),
            "median": float(np.median(a)), "max": float(a.max())}


def gate_tolerance(bound: float) -> float:
    """A gate's tolerance from its bound: rounded up to a whole percent, at least 1 %."""
    return max(MIN_TOLERANCE, round_up_percent(bound))


def derive_tolerances(measured: Mapping[str, Any], family: float = FAMILY_FALSE_FAIL) -> dict[str, Any]:
    """The rule of the module docstring applied to a measurement."""
    p = per_test_probability(len(DRAWN_GATES), len(measured["seeds"]), family)
    per_gate = {}
    for gate in DRAWN_GATES:
        by_seed = shortfalls(measured, gate)
        derived = derive_tolerance(by_seed, p)
        per_gate[gate.id] = {**derived, "tolerance": gate_tolerance(derived["bound"]), "op": gate.op,
                             "shortfall_by_seed": {s: _summary(x) for s, x in by_seed.items()}}
    return {"family_false_fail": family, "per_test_probability": p, "gates": per_gate,
            "tolerances": {gate_id: g["tolerance"] for gate_id, g in per_gate.items()}}


# ------------------------------------------------------------------ what the tolerance gives


def replay_verdicts(measured: Mapping[str, Any], band: Sequence[float] = gates.DEFAULT_ESCALATION_BAND) -> dict[str, Any]:
    """The certification verdict of every replay index (one simulated engine commit:
    replay k of every seed) under the gates as shipped, the gates that failed B+, and
    the ground-truth targets missed (counted per seed and target)."""
    seeds = [int(s) for s in measured["seeds"]]
    outcomes, failing, targets_missed = [], {}, {}
    for index in range(measured["replays"]):
        values, seed_results = {}, {}
        for seed in seeds:
            entry = measured["seeds"][str(seed)]
            replay = entry["replays"][index]
            values[seed] = {**entry["fixed"]["run"], **replay["run"]}
            truth_values = {**entry["fixed"]["truth"], **replay["truth"]}
            seed_results[seed] = gates.evaluate_seed(values[seed], band, truth_values)
            for target in gates.evaluate_truth_targets(values[seed])["failed"]:
                key = f"seed {seed}: {target}"
                targets_missed[key] = targets_missed.get(key, 0) + 1
        result = gates.verdict(seed_results, gates.cross_seed_gates(values, seeds), seeds)
        outcomes.append(result["verdict"])
        for reason in result["failed"][gates.BPLUS]:
            failing[reason] = failing.get(reason, 0) + 1
    counts = {v: outcomes.count(v) for v in (gates.VERDICT_BPLUS, gates.VERDICT_B, gates.VERDICT_FAIL)}
    return {"drawn_tolerances": dict(gates.DRAWN_TOLERANCES), "verdicts": counts, "failing_gates": dict(sorted(failing.items())),
            "truth_targets_missed": dict(sorted(targets_missed.items()))}


def figure_ranges(measured: Mapping[str, Any]) -> dict[str, Any]:
    """Per seed, the range of the run's ground-truth targets and variety figures."""
    out = {}
    for seed, entry in measured["seeds"].items():
        out[seed] = {}
        for key in RECORDED + tuple(g.metric for g in DRAWN_GATES):
            run = [r["run"][key] for r in entry["replays"] if r["run"].get(key) is not None]
            tru = [r["truth"][key] for r in entry["replays"] if r["truth"].get(key) is not None]
            out[seed][key] = {"run": _summary(run) if len(run) > 1 else None,
                              "truth": _summary(tru) if len(tru) > 1 else None}
    return out


def prior_ratios(measured: Mapping[str, Any]) -> dict[str, Any]:
    """S2 gates are not drawn: their shortfall is one fixed number per seed."""
    out = {}
    for gate in (g for g in gates.GATES if g.truth_relative and g.metric.startswith("S2")):
        out[gate.id] = {seed: shortfall(gate.op, e["fixed"]["run"][gate.metric], e["fixed"]["truth"][gate.metric])
                        if e["fixed"]["truth"][gate.metric] else None for seed, e in measured["seeds"].items()}
    return {"prior_tolerance": gates.PRIOR_TOLERANCE, "shortfall_by_gate": out}


def analysis(measured: Mapping[str, Any]) -> dict[str, Any]:
    return {"derivation": derive_tolerances(measured), "verdicts": replay_verdicts(measured),
            "figures": figure_ranges(measured), "priors": prior_ratios(measured)}


def summary_lines(result: Mapping[str, Any]) -> list[str]:
    derivation = result["derivation"]
    lines = [f"per (gate, seed) test p = {derivation['per_test_probability']:.3g}"]
    for gate_id, g in derivation["gates"].items():
        cells = "; ".join(f"{s}: mean {v['mean']:+.4f} sd {v['sd']:.4f} max {v['max']:+.4f}"
                          for s, v in g["shortfall_by_seed"].items())
        lines.append(f"{gate_id}: bound {g['bound']:.4f} -> tolerance {g['tolerance']:.2f} "
                     f"(shipped {gates.DRAWN_TOLERANCES[gate_id]:.2f}; {cells})")
    v = result["verdicts"]
    lines.append(f"verdicts over {sum(v['verdicts'].values())} replays with the shipped tolerance: {v['verdicts']}; "
                 f"failing B+: {v['failing_gates']}; ground-truth targets missed: {v['truth_targets_missed']}")
    return lines


# ------------------------------------------------------------------ command


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m seg3a.realism.spread",
        description="Replay each seed's S3 draws under other fingerprints, measure the run-vs-truth spread of every "
                    "drawn gate and derive DRAWN_TOLERANCES (see the module docstring).")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", type=Path, action="append", dest="runs", metavar="RUN_ROOT",
                        help="a built run root; repeat once per seed")
    source.add_argument("--derive", type=Path, metavar="FILE", help="derive again from a stored measurement")
    parser.add_argument("--replays", type=int, default=DEFAULT_REPLAYS, help=f"replays per seed (default {DEFAULT_REPLAYS})")
    parser.add_argument("--out", type=Path, help="write the measurement and its analysis here (canonical JSON)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.derive:
        document = json.loads(args.derive.read_text(encoding="utf-8"))
        measured = document["measurement"]
    else:
        measured = measure(args.runs, args.replays, progress=lambda line: print(line, flush=True))
    result = analysis(measured)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report.write_json(args.out, {"measurement": measured, "analysis": result})
    print("\n".join(summary_lines(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
