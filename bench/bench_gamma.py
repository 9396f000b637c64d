"""Throughput of the vectorised S3 samplers (one core).

Measures
  * gamma variates per second of `gamma_batch` (one Gamma(alpha) per stream,
    each stream with its own key and counter), and the uniforms per second
    they consume;
  * Dirichlet pairs per second of `dirichlet_batch` for a realistic batch
    (K uniform in 1..k-max, S2-like shapes, the published dispersion policy),
    including keying (SHA-256 per pair) and the effective-shape transform.

Each figure is the median over --repeats runs.  Acceptance target: gamma
draws >= 1,000,000 per second.

    python bench/bench_gamma.py --help
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from python_udfs import _libm
from python_udfs.rng import Dispersion, dirichlet_batch, gamma_batch

TARGET_GAMMA_PER_SECOND = 1_000_000
PUBLISHED_POLICY = Dispersion(enabled=True, concentration_scale=0.65, alpha_temperature=1.0,
                              merchant_jitter=0.0, merchant_jitter_clip=0.0, alpha_floor=1e-6)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gammas", type=int, default=500_000, help="streams in the gamma benchmark (default 500000)")
    parser.add_argument("--alpha-low", type=float, default=0.2, help="smallest gamma shape, log-uniform (default 0.2)")
    parser.add_argument("--alpha-high", type=float, default=20.0, help="largest gamma shape (default 20)")
    parser.add_argument("--pairs", type=int, default=100_000, help="pairs in the Dirichlet benchmark (default 100000)")
    parser.add_argument("--k-max", type=int, default=10, help="zones per pair are uniform in 1..k-max (default 10)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure; the median is reported (default 5)")
    parser.add_argument("--seed", type=int, default=20260101, help="seed of the synthetic inputs (default 20260101)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON to this path")
    return parser.parse_args(argv)


def median_seconds(run, repeats: int) -> tuple[float, float]:
    """Median (wall, CPU) seconds of `run`; CPU time is the fairer figure on a shared machine."""
    run()  # warm-up: library load, page faults, allocator
    wall, cpu = [], []
    for _ in range(repeats):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - start_wall)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def bench_gamma(args, rng: np.random.Generator) -> dict:
    n = args.gammas
    key, hi, lo = (rng.integers(0, 1 << 64, n, dtype=np.uint64, endpoint=False) for _ in range(3))
    alpha = np.exp(rng.uniform(np.log(args.alpha_low), np.log(args.alpha_high), n))
    result = gamma_batch(key, hi, lo, alpha)
    seconds, cpu_seconds = median_seconds(lambda: gamma_batch(key, hi, lo, alpha), args.repeats)
    return {
        "streams": n,
        "alpha_range": [args.alpha_low, args.alpha_high],
        "median_seconds": seconds,
        "median_cpu_seconds": cpu_seconds,
        "gamma_per_second": n / seconds,
        "gamma_per_cpu_second": n / cpu_seconds,
        "uniforms_per_second": float(result.draws.sum()) / seconds,
        "blocks_per_second": float(result.blocks.sum()) / seconds,
        "mean_blocks_per_gamma": float(result.blocks.mean()),
    }


def realistic_pairs(args, rng: np.random.Generator):
    """S2-like shapes: per pair a country alpha-sum in [20, 140] split over K zones."""
    n = args.pairs
    k = rng.integers(1, args.k_max + 1, n)
    offsets = np.concatenate(([0], np.cumsum(k)))
    raw = rng.gamma(1.0, 1.0, int(offsets[-1])) + 0.05
    row_sum = np.add.reduceat(raw, offsets[:-1])
    alpha_sum = rng.uniform(20.0, 140.0, n)
    alpha = np.maximum(raw / np.repeat(row_sum, k) * np.repeat(alpha_sum, k), 0.005)
    merchants = rng.choice(np.arange(1, 10 * n + 1, dtype=np.uint64), n, replace=False)
    countries = rng.choice(["AU", "BR", "CA", "CN", "DE", "FR", "ID", "MX", "RU", "US"], n).tolist()
    return merchants, countries, alpha, offsets


def bench_dirichlet(args, rng: np.random.Generator) -> dict:
    merchants, countries, alpha, offsets = realistic_pairs(args, rng)

    def run():
        return dirichlet_batch("ab" * 32, 42, merchants, countries, alpha, offsets, PUBLISHED_POLICY, "cd" * 32)

    result = run()
    seconds, cpu_seconds = median_seconds(run, args.repeats)
    return {
        "pairs": args.pairs,
        "zones": int(offsets[-1]),
        "k_max": args.k_max,
        "median_seconds": seconds,
        "median_cpu_seconds": cpu_seconds,
        "pairs_per_second": args.pairs / seconds,
        "pairs_per_cpu_second": args.pairs / cpu_seconds,
        "gamma_per_second": int(offsets[-1]) / seconds,
        "mean_blocks_per_pair": float(result.blocks.mean()),
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    environment = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "libm_helper": _libm.library_path(),
    }
    gamma = bench_gamma(args, rng)
    print(f"gamma_batch    : {gamma['gamma_per_second']:>12,.0f} gamma draws/s wall "
          f"({gamma['gamma_per_cpu_second']:,.0f} per CPU second; {gamma['uniforms_per_second']:,.0f} uniforms/s, "
          f"{gamma['blocks_per_second']:,.0f} Philox blocks/s; {gamma['streams']:,} streams, "
          f"alpha {args.alpha_low}..{args.alpha_high}, median of {args.repeats})")
    dirichlet = bench_dirichlet(args, rng)
    print(f"dirichlet_batch: {dirichlet['pairs_per_second']:>12,.0f} pairs/s wall "
          f"({dirichlet['pairs_per_cpu_second']:,.0f} per CPU second; {dirichlet['gamma_per_second']:,.0f} zones/s; "
          f"{dirichlet['pairs']:,} pairs, K 1..{args.k_max}, published dispersion, keying included, "
          f"median of {args.repeats})")
    verdict = "PASS" if gamma["gamma_per_second"] >= TARGET_GAMMA_PER_SECOND else "BELOW TARGET"
    print(f"target >= {TARGET_GAMMA_PER_SECOND:,} gamma draws/s: {verdict}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"environment": environment, "gamma": gamma, "dirichlet": dirichlet}
        args.json.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
