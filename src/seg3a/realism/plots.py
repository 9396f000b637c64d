"""Report plots as PNG, byte-reproducible: the object-oriented Figure API on the Agg
canvas (no pyplot global state, no backend switching), fixed rc parameters and
size, PNG metadata without the Software entry, and `svg.hashsalt` fixed in case a
caller saves as SVG. Same data and the same matplotlib / FreeType ⇒ same bytes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

RC = {
    "svg.hashsalt": "seg3a-realism",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
    "savefig.dpi": 100,
}
PNG_METADATA = {"Software": None}
B_COLOUR, BPLUS_COLOUR = "#c0392b", "#27ae60"
RUN_COLOUR, TRUTH_COLOUR, ALT_COLOUR = "#2c7fb8", "#7f7f7f", "#f39c12"
SIZE = (7.0, 4.0)


def _figure(size=SIZE) -> Figure:
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> str:
    fig.savefig(path, format="png", metadata=PNG_METADATA)
    return path.name


def _thresholds(ax, b=None, bplus=None, vertical=True) -> None:
    line = ax.axvline if vertical else ax.axhline
    if b is not None:
        line(b, color=B_COLOUR, linestyle="--", linewidth=1, label=f"B {b}")
    if bplus is not None:
        line(bplus, color=BPLUS_COLOUR, linestyle=":", linewidth=1.2, label=f"B+ {bplus}")


def _integer(axis) -> None:
    axis.set_major_locator(MaxNLocator(integer=True))


def _no_data(ax, text="no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=TRUTH_COLOUR)


def prior_top1(path: Path, top1: np.ndarray, population_top1: Sequence[float]) -> str:
    fig = _figure()
    ax = fig.add_subplot()
    bins = np.linspace(0.0, 1.0, 21)
    if top1.size:
        ax.hist(top1, bins=bins, color=RUN_COLOUR, alpha=0.8, label=f"priors, {top1.size} multi-zone countries")
        ax.axvline(float(np.median(top1)), color=RUN_COLOUR, linewidth=1.5, label="priors median")
    else:
        _no_data(ax)
    if len(population_top1):
        ax.hist(population_top1, bins=bins, histtype="step", color=TRUTH_COLOUR, linewidth=1.5,
                label=f"GeoNames population, {len(population_top1)} countries")
    _thresholds(ax, 0.85, 0.75)
    ax.set(title="S2 prior top-1 share per multi-zone country", xlabel="top-1 share_effective", ylabel="countries",
           xlim=(0, 1))
    _integer(ax.yaxis)
    ax.legend(loc="upper left")
    return _save(fig, path)


def share_std(path: Path, std: np.ndarray) -> str:
    fig = _figure()
    ax = fig.add_subplot()
    if std.size:
        ax.hist(std, bins=np.linspace(0.0, max(0.3, float(std.max())), 31), color=RUN_COLOUR, alpha=0.8,
                label=f"{std.size} (country, tzid) groups")
        ax.axvline(float(np.median(std)), color=RUN_COLOUR, linewidth=1.5, label="median")
    else:
        _no_data(ax)
    _thresholds(ax, 0.02, 0.04)
    ax.set(title="S3 merchant heterogeneity: std of share_drawn per (country, tzid)", xlabel="sample std (ddof 1)",
           ylabel="groups")
    _integer(ax.yaxis)
    ax.legend(loc="upper right")
    return _save(fig, path)


def realised_zones(path: Path, nonzero: np.ndarray, z05: np.ndarray) -> str:
    fig = _figure()
    ax = fig.add_subplot()
    top = int(max(nonzero.max() if nonzero.size else 1, z05.max() if z05.size else 1))
    low = int(min(nonzero.min() if nonzero.size else 1, z05.min() if z05.size else 1))
    k = np.arange(low, top + 1)
    width = 0.4
    ax.bar(k - width / 2, np.bincount(nonzero, minlength=top + 1)[low: top + 1], width, color=RUN_COLOUR,
           label="zones with outlets (S4)")
    ax.bar(k + width / 2, np.bincount(z05, minlength=top + 1)[low: top + 1], width, color=ALT_COLOUR,
           label="zones with share >= 5 % (S3)")
    if not nonzero.size and not z05.size:
        _no_data(ax)
    ax.set(title="Realised zones per escalated pair", xlabel="zones", ylabel="pairs", xticks=k)
    ax.legend(loc="best")
    return _save(fig, path)


def top1_count_share(path: Path, s4_top1: np.ndarray, za_top1: np.ndarray) -> str:
    fig = _figure()
    ax = fig.add_subplot()
    bins = np.linspace(0.0, 1.0, 21)
    if s4_top1.size:
        ax.hist(s4_top1, bins=bins, color=RUN_COLOUR, alpha=0.8, label=f"S4, {s4_top1.size} pairs")
    if za_top1.size:
        ax.hist(za_top1, bins=bins, histtype="step", color=ALT_COLOUR, linewidth=1.5, label="zone_alloc")
    if not s4_top1.size and not za_top1.size:
        _no_data(ax)
    _thresholds(ax, 0.90, 0.85)
    ax.set(title="Top-1 count share per escalated pair (gates on the median)", xlabel="max zone count / site count",
           ylabel="pairs", xlim=(0, 1))
    _integer(ax.yaxis)
    ax.legend(loc="upper left")
    return _save(fig, path)


def escalation_curve(path: Path, k: np.ndarray, n: np.ndarray, rate: np.ndarray, supported: np.ndarray,
                     band: Sequence[float]) -> str:
    fig = _figure()
    ax = fig.add_subplot()
    ax.axhspan(band[0], band[1], color=BPLUS_COLOUR, alpha=0.08, label=f"band for the overall rate {list(band)}")
    if k.size:
        ax.plot(k[supported], rate[supported], color=RUN_COLOUR, linewidth=1)
        sizes = 20 + 180 * n / max(int(n.max()), 1)
        ax.scatter(k[supported], rate[supported], s=sizes[supported], color=RUN_COLOUR, label="supported bucket")
        if (~supported).any():
            ax.scatter(k[~supported], rate[~supported], s=sizes[~supported], facecolors="none", edgecolors=RUN_COLOUR,
                       label="fewer than 25 pairs")
    else:
        _no_data(ax)
    ax.set(title="S1 escalation rate by zone_count_country (marker area ~ pairs)", xlabel="zones in the country",
           ylabel="escalation rate", ylim=(-0.02, 1.02))
    _integer(ax.xaxis)
    ax.legend(loc="lower right")
    return _save(fig, path)


def _country_bars(ax, country: Mapping[str, Any], zones: Mapping[str, np.ndarray], top: int = 6) -> None:
    mask = zones["country_iso"] == country["country_iso"]
    tzid, p, q = zones["tzid"][mask], zones["p"][mask], zones["q"][mask]
    order = np.lexsort((tzid, -np.maximum(p, q)))
    keep, rest = order[:top], order[top:]
    labels = [str(t).split("/")[-1] for t in tzid[keep]] + (["other"] if rest.size else [])
    pv = np.append(p[keep], p[rest].sum()) if rest.size else p[keep]
    qv = np.append(q[keep], q[rest].sum()) if rest.size else q[keep]
    y = np.arange(len(labels))
    ax.barh(y - 0.2, qv, 0.4, color=TRUTH_COLOUR, label="population")
    ax.barh(y + 0.2, pv, 0.4, color=RUN_COLOUR, label="outlets")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_title(f"{country['country_iso']}  JSD {country['jsd']:.3f}  ({country['outlets']} outlets)", fontsize=9)


def population_vs_allocation(path: Path, fidelity: Mapping[str, Any] | None, countries: int = 6) -> str:
    """Population vs outlet shares for the multi-zone countries with most outlets."""
    multi = [] if not fidelity else [c for c in fidelity["countries"] if c["zones_allocation"] > 1]
    chosen = sorted(multi, key=lambda c: (-c["outlets"], c["country_iso"]))[:countries]
    fig = _figure((9.0, 6.0))
    if not chosen:
        _no_data(fig.add_subplot(), "no multi-zone country with outlets and population")
        return _save(fig, path)
    axes = fig.subplots(2, 3).ravel()
    for ax, country in zip(axes, chosen):
        _country_bars(ax, country, fidelity["_zones"])
    for ax in axes[len(chosen):]:
        ax.set_axis_off()
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle("zone_alloc outlets vs GeoNames population by tzid (largest multi-zone countries)")
    return _save(fig, path)


def tail_scatter(path: Path, fidelity: Mapping[str, Any] | None) -> str:
    """Every zone of the scored countries: its share of the country's outlets (a_z)
    against its share of the people (p_z), log-log, with a = p and a = 3p; zones
    under 0.5 % of their country's people are the tail."""
    fig = _figure((7.0, 5.0))
    ax = fig.add_subplot()
    zones = (fidelity or {}).get("_zones")
    if not zones or "tails" not in fidelity or zones["p"].size == 0:
        _no_data(ax, "zone_alloc or population not available")
        return _save(fig, path)
    tails = fidelity["tails"]
    floor = 1e-6
    a = np.maximum(zones["p"].astype(np.float64), floor)
    p = np.maximum(zones["q"].astype(np.float64), floor)
    size = 4 + 40 * np.sqrt(zones["country_outlets"].astype(np.float64) / max(zones["country_outlets"].max(), 1))
    ax.scatter(p, a, s=size, color=RUN_COLOUR, alpha=0.5, linewidths=0)
    line = np.array([floor, 1.0])
    ax.plot(line, line, color=TRUTH_COLOUR, linewidth=1, label="outlets = people")
    ax.plot(line, 3 * line, color=B_COLOUR, linestyle="--", linewidth=1, label="3 x people (over-allocation)")
    ax.axvspan(floor, tails["tail_population_share"], color=ALT_COLOUR, alpha=0.1, label="tail: < 0.5 % of people")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(floor, 1.0)
    ax.set_ylim(floor, 1.0)
    ax.set_xlabel("zone's share of its country's people (p_z; 1e-6 = none)")
    ax.set_ylabel("zone's share of its country's outlets (a_z; 1e-6 = none)")
    ratio = "-" if tails["tail_ratio"] is None else f"{tails['tail_ratio']:.2f}"
    over = "-" if tails["over_allocation"] is None else f"{tails['over_allocation']:.4f}"
    ax.set_title(f"Tails: over-allocation {over}, tail ratio {ratio}", fontsize=9)
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, path)


def primary_medians(path: Path, per_seed: Mapping[int, Mapping[str, Any]], seeds: Sequence[int],
                    thresholds: Mapping[str, tuple]) -> str:
    """Cross-seed view of the four primary medians against their gates."""
    fig = _figure((9.0, 5.0))
    axes = fig.subplots(1, len(thresholds)).ravel()
    x = np.arange(len(seeds))
    for ax, (metric, (b, bplus)) in zip(axes, thresholds.items()):
        values = np.array([np.nan if per_seed.get(s, {}).get(metric) is None else per_seed[s][metric] for s in seeds])
        ax.bar(x, np.nan_to_num(values), color=RUN_COLOUR)
        _thresholds(ax, b, bplus, vertical=False)
        ax.set_xticks(x, [str(s) for s in seeds])
        ax.set_title(metric, fontsize=9)
        ax.set_xlabel("seed")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.suptitle("Primary medians per seed")
    return _save(fig, path)


def render_context():
    """rc parameters for every figure this module draws."""
    return matplotlib.rc_context(RC)
