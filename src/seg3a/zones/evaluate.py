"""Z(c) against reality: run the zone-universe dbt models on a DuckDB connection and
score them against IANA zone.tab.

The models under `models/segment3a/zone_universe/` are the only implementation of
the membership rule. Outside dbt this module renders them by plain substitution of
`{{ ref('x') }}`, `{{ var('zone_universe_rule')['k'] }}` and `{{ config(...) }}`
(anything else in `{{ }}` / `{% %}` is refused), so the SQL text run here is the
text dbt runs.

Ground truth is `zone.tab` of the pinned `tzdata` package, not `zone1970.tab`:
zone.tab names each zone once, under the one country it is filed for, with the same
tzids the boundary data draws polygons for (timezone-boundary-builder builds one
polygon set per zone.tab zone). zone1970.tab instead groups countries whose clocks
have agreed since 1970 under one representative zone (AE, OM, RE, SC and TF all
under Asia/Dubai), so most small countries would be scored against a neighbour's
zone that the boundary data does not draw in them. zone1970.tab is still read, to
explain disagreements it agrees with.

Links are resolved with the `L target alias` lines of `tzdata.zi`. Scores are given
twice: as named (tzid against zone.tab's tzid, the headline) and canonical (both
sides mapped to link targets). Every as-named disagreement is listed with its cause,
including the ones canonical matching resolves (flag `resolved_by_links`; category
`alias` when links are the only explanation).
"""
from __future__ import annotations

import argparse
import csv
import importlib.metadata
import importlib.resources
import json
import re
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from seg3a.zones import rule as rule_module

PROJECT_ROOT = Path(__file__).resolve().parents[3]
MODEL_DIR = PROJECT_ROOT / "models" / "segment3a" / "zone_universe"
RULE_PATH = PROJECT_ROOT / "contracts" / "zone_universe_rule.yaml"
SEED_DIR = PROJECT_ROOT / "seeds"
SEED_NAME = "iana_zone_tab"
RULE_VAR = rule_module.RULE_VAR
# Dataset dictionary paths (spec 05 §0), relative to the project root.
WORLD_COUNTRIES_PATH = Path("reference/spatial/world_countries/2024/world_countries.parquet")
TZ_WORLD_PATH = Path("reference/spatial/tz_world/2025a/tz_world.parquet")

# Models in dependency order; the two staging refs are bound to the input files.
MODELS = ("zone_universe_candidates", "zone_universe", "zone_count_country")
STAGING_WORLD = "stg_ref__world_countries"
STAGING_TZ = "stg_ref__tz_world"
RULE_KEYS = rule_module.RULE_KEYS
TARGET = 0.95


# ---------------------------------------------------------------- model rendering

_CONFIG = re.compile(r"\{\{\s*config\(.*?\)\s*\}\}\n?", re.S)
_REF = re.compile(r"\{\{\s*ref\(\s*'([A-Za-z0-9_]+)'\s*\)\s*\}\}")
_VAR = re.compile(r"\{\{\s*var\(\s*'([A-Za-z0-9_]+)'\s*\)\s*\[\s*'([A-Za-z0-9_]+)'\s*\]\s*\}\}")
_JINJA_LEFT = re.compile(r"\{\{|\{%|\{#")


def load_rule(path: Path = RULE_PATH) -> dict[str, Any]:
    """The rule parameters: the `zone_universe_rule` mapping of the contract file."""
    return rule_module.load_rule(path)


def _jinja_text(value: Any) -> str:
    """What Jinja prints for a var value ({{ x }} is str(x); lists print as repr)."""
    return str(value)


def render_model(name: str, variables: dict[str, dict[str, Any]], model_dir: Path = MODEL_DIR) -> str:
    """The model's SQL with refs as bare relation names and vars substituted."""
    sql = (model_dir / f"{name}.sql").read_text(encoding="utf-8")
    sql = _CONFIG.sub("", sql)
    sql = _REF.sub(lambda m: m.group(1), sql)

    def var_value(match: re.Match[str]) -> str:
        var_name, key = match.groups()
        try:
            return _jinja_text(variables[var_name][key])
        except KeyError:
            raise ValueError(f"model {name}: var {var_name}[{key!r}] is not defined") from None

    sql = _VAR.sub(var_value, sql)
    leftover = _JINJA_LEFT.search(sql)
    if leftover:
        snippet = sql[leftover.start(): leftover.start() + 60]
        raise ValueError(f"model {name}: template construct not supported outside dbt: {snippet!r}")
    return sql


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _geometry_column(conn, path: Path) -> str:
    """`geom`, or the accepted fallback `geometry` (spec 02 §1)."""
    names = [row[0] for row in conn.execute(f"DESCRIBE SELECT * FROM read_parquet({_sql_string(str(path))})").fetchall()]
    for candidate in ("geom", "geometry"):
        if candidate in names:
            return candidate
    raise ValueError(f"{path}: no geometry column (geom or geometry); columns {names}")


def bind_inputs(conn, world_countries: Path, tz_world: Path) -> None:
    """Stand-ins for the two staging models: views with exactly their columns."""
    for path in (world_countries, tz_world):
        if not Path(path).is_file():
            raise FileNotFoundError(f"reference file missing: {path} (build it with `seg3a reference build`)")
    world_geom = _geometry_column(conn, world_countries)
    tz_geom = _geometry_column(conn, tz_world)
    conn.execute(
        f"CREATE OR REPLACE VIEW {STAGING_WORLD} AS SELECT country_iso, {world_geom}::GEOMETRY AS geom "
        f"FROM read_parquet({_sql_string(str(world_countries))})"
    )
    conn.execute(
        f"CREATE OR REPLACE VIEW {STAGING_TZ} AS SELECT tzid, polygon_id, {tz_geom}::GEOMETRY AS geom "
        f"FROM read_parquet({_sql_string(str(tz_world))})"
    )


def run_models(conn, rule: dict[str, Any], model_dir: Path = MODEL_DIR) -> dict[str, float]:
    """Materialise the three models as tables; returns seconds per model."""
    variables = {RULE_VAR: rule}
    rule_module.create_rule_macros(conn, rule)
    seconds = {}
    for name in MODELS:
        sql = render_model(name, variables, model_dir)
        started = time.perf_counter()
        conn.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}")
        seconds[name] = round(time.perf_counter() - started, 3)
    return seconds


# ------------------------------------------------------------------ ground truth


def tzdata_dir() -> Path:
    return Path(str(importlib.resources.files("tzdata") / "zoneinfo"))


def tzdata_release() -> dict[str, str]:
    import tzdata

    return {"package": "tzdata", "package_version": importlib.metadata.version("tzdata"),
            "iana_version": tzdata.IANA_VERSION}


def _data_lines(path: Path):
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip() and not line.startswith("#"):
                yield line.rstrip("\n").split("\t")


def read_zone_tab(path: Path | None = None) -> list[tuple[str, str]]:
    """(country_iso, tzid) rows of zone.tab."""
    return [(fields[0], fields[2]) for fields in _data_lines(path or tzdata_dir() / "zone.tab")]


def read_zone1970_tab(path: Path | None = None) -> set[tuple[str, str]]:
    """(country_iso, tzid) pairs of zone1970.tab (its first column lists several codes)."""
    pairs = set()
    for fields in _data_lines(path or tzdata_dir() / "zone1970.tab"):
        pairs.update((code, fields[2]) for code in fields[0].split(","))
    return pairs


def read_links(path: Path | None = None) -> dict[str, str]:
    """alias -> canonical zone, from the `L target alias` lines of tzdata.zi (chains followed)."""
    direct = {}
    with open(path or tzdata_dir() / "tzdata.zi", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("L "):
                _, target, alias = line.split()
                direct[alias] = target
    return {alias: canonical(alias, direct) for alias in direct}


def canonical(tzid: str, links: dict[str, str]) -> str:
    seen = set()
    while tzid in links and tzid not in seen:
        seen.add(tzid)
        tzid = links[tzid]
    return tzid


def ground_truth_rows() -> list[dict[str, str]]:
    """Seed rows: every zone.tab pair with its canonical tzid, sorted."""
    links = read_links()
    rows = [{"country_iso": c, "tzid": z, "canonical_tzid": canonical(z, links)} for c, z in read_zone_tab()]
    return sorted(rows, key=lambda r: (r["country_iso"], r["tzid"]))


def _seed_yml(release: dict[str, str], row_count: int) -> str:
    return f"""version: 2

seeds:
  - name: {SEED_NAME}
    description: >
      IANA zone.tab (tzdb {release['iana_version']}, Python package tzdata=={release['package_version']}):
      one row per (country, zone) pair IANA files, the ground truth for Z(c)
      (spec 06, ground truth 1). {row_count} rows. canonical_tzid follows the link lines
      of tzdata.zi. Generated by seg3a.zones.evaluate.write_seed; do not edit by hand.
    config:
      column_types:
        country_iso: varchar
        tzid: varchar
        canonical_tzid: varchar
    columns:
      - name: country_iso
        description: ISO 3166-1 alpha-2 code as written in zone.tab.
        data_tests: [not_null]
      - name: tzid
        description: IANA zone name as written in zone.tab (also the tz_world tzid).
        data_tests: [not_null, unique]
      - name: canonical_tzid
        description: tzid after following tzdata.zi links (equal to tzid when it is not a link).
        data_tests: [not_null]
"""


def write_seed(seed_dir: Path = SEED_DIR) -> Path:
    """Write seeds/iana_zone_tab.csv and its .yml from the installed tzdata."""
    rows = ground_truth_rows()
    seed_dir.mkdir(parents=True, exist_ok=True)
    csv_path = seed_dir / f"{SEED_NAME}.csv"
    with open(csv_path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["country_iso", "tzid", "canonical_tzid"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    (seed_dir / f"{SEED_NAME}.yml").write_text(_seed_yml(tzdata_release(), len(rows)), encoding="utf-8")
    return csv_path


# -------------------------------------------------------------------- evaluation


def _scores(predicted: set, truth: set) -> dict[str, Any]:
    hits = len(predicted & truth)
    return {
        "precision": hits / len(predicted) if predicted else 0.0,
        "recall": hits / len(truth) if truth else 0.0,
        "predicted": len(predicted),
        "truth": len(truth),
        "true_positive": hits,
        "false_positive": len(predicted - truth),
        "false_negative": len(truth - predicted),
    }


def _candidates(conn) -> dict[tuple[str, str], dict[str, Any]]:
    cursor = conn.execute("SELECT * FROM zone_universe_candidates")
    names = [d[0] for d in cursor.description]
    return {(row[0], row[1]): dict(zip(names, row)) for row in cursor.fetchall()}


class _Context:
    """What the disagreement categories look at."""

    def __init__(self, candidates, truth_pairs, rule):
        self.candidates = candidates
        self.rule = rule
        self.links = read_links()
        self.zone1970 = read_zone1970_tab()
        self.owners = defaultdict(set)
        for country, tzid in truth_pairs:
            self.owners[tzid].add(country)
        self.holder = {}
        for (country, tzid), row in sorted(candidates.items()):
            best = self.holder.get(tzid)
            if best is None or row["share_of_zone_land"] > candidates[(best, tzid)]["share_of_zone_land"]:
                self.holder[tzid] = country

    def canon(self, tzid: str) -> str:
        return canonical(tzid, self.links)


def _false_positive_category(ctx: _Context, country: str, tzid: str, world: set[str]) -> str:
    """Why Z(c) holds a zone zone.tab does not file under c (first matching cause)."""
    row = ctx.candidates[(country, tzid)]
    owners = ctx.owners.get(tzid, set())
    if country in ctx.rule["uninhabited_countries"]:
        return "antarctic_sector"
    if (country, tzid) in ctx.zone1970:
        return "zone1970_listed"
    if owners and not owners & world:
        return "owner_not_in_world"
    if owners and ctx.holder.get(tzid) == country:
        return "country_shaping"
    if row["keep_reason"] == "fallback_largest_overlap":
        return "fallback_not_iana"
    return "other"


def _false_negative_category(ctx: _Context, country: str, tzid: str) -> str:
    """Why Z(c) misses a zone zone.tab files under c (first matching cause)."""
    row = ctx.candidates.get((country, tzid))
    if row is None:
        return "no_overlap"
    if row["share_of_zone_land"] >= ctx.rule["min_share_of_zone_land"] and row["overlap_km2"] < ctx.rule["min_overlap_km2"]:
        return "sliver"
    if ctx.holder.get(tzid) != country:
        return "country_shaping"
    return "other"


def _resolved_by_links(ctx: _Context, tzid: str, other_side: set[str]) -> bool:
    """True when the pair matches once both sides are mapped to canonical zones."""
    return ctx.canon(tzid) in {ctx.canon(z) for z in other_side}


def _disagreement(ctx, kind, country, tzid, category, resolved_by_links) -> dict[str, Any]:
    row = ctx.candidates.get((country, tzid), {})
    if category == "other" and resolved_by_links:
        category = "alias"
    return {
        "kind": kind,
        "country_iso": country,
        "tzid": tzid,
        "canonical_tzid": ctx.canon(tzid),
        "category": category,
        "resolved_by_links": resolved_by_links,
        "iana_countries": sorted(ctx.owners.get(tzid, ())),
        "zone_land_holder": ctx.holder.get(tzid),
        "overlap_km2": row.get("overlap_km2"),
        "share_of_country": row.get("share_of_country"),
        "share_of_zone_land": row.get("share_of_zone_land"),
        "keep_reason": row.get("keep_reason"),
    }


def _by_country(pairs) -> dict[str, set[str]]:
    grouped = defaultdict(set)
    for country, tzid in pairs:
        grouped[country].add(tzid)
    return grouped


def _name_checks(conn, truth_tzids: set[str], prefix: str) -> dict[str, list[str]]:
    """The two layers must speak zone.tab's names, else as-named scores mean little."""
    drawn = {row[0] for row in conn.execute(f"SELECT DISTINCT tzid FROM {STAGING_TZ}").fetchall()}
    civil = {z for z in drawn if not z.startswith(prefix)}
    return {"tz_world_civil_tzids_not_in_zone_tab": sorted(civil - truth_tzids),
            "zone_tab_tzids_without_polygon": sorted(truth_tzids - drawn)}


def evaluate(conn, rule: dict[str, Any], truth: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """Score the materialised zone_universe against zone.tab over the countries present in both."""
    truth_all = set(truth if truth is not None else read_zone_tab())
    world = {row[0] for row in conn.execute(f"SELECT DISTINCT country_iso FROM {STAGING_WORLD}").fetchall()}
    kept = {(c, z) for c, z in conn.execute("SELECT country_iso, tzid FROM zone_universe").fetchall()}
    truth_countries = {c for c, _ in truth_all}
    scored = world & truth_countries
    truth_pairs = {p for p in truth_all if p[0] in scored}
    predicted = {p for p in kept if p[0] in scored}
    ctx = _Context(_candidates(conn), truth_all, rule)
    truth_by_country, predicted_by_country = _by_country(truth_pairs), _by_country(predicted)
    disagreements = [
        _disagreement(ctx, "FP", c, z, _false_positive_category(ctx, c, z, world),
                      _resolved_by_links(ctx, z, truth_by_country[c]))
        for c, z in sorted(predicted - truth_pairs)
    ] + [
        _disagreement(ctx, "FN", c, z, _false_negative_category(ctx, c, z),
                      _resolved_by_links(ctx, z, predicted_by_country[c]))
        for c, z in sorted(truth_pairs - predicted)
    ]
    disagreements.sort(key=lambda d: (d["country_iso"], d["tzid"], d["kind"]))
    canon_truth = {(c, ctx.canon(z)) for c, z in truth_pairs}
    canon_predicted = {(c, ctx.canon(z)) for c, z in predicted}
    counts = dict(conn.execute("SELECT country_iso, zone_count_country FROM zone_count_country").fetchall())
    buckets = defaultdict(int)
    for n in counts.values():
        buckets[str(n)] += 1
    return {
        "ground_truth": {"file": "zone.tab", **tzdata_release()},
        "rule": rule,
        "scope": {
            "countries_in_world": len(world),
            "countries_scored": len(scored),
            "countries_without_zone_tab_rows": sorted(world - truth_countries),
            "zone_tab_countries_not_in_world": sorted(truth_countries - world),
        },
        "as_named": _scores(predicted, truth_pairs),
        "canonical": _scores(canon_predicted, canon_truth),
        "pairs_total": len(kept),
        "countries_multi_zone": sum(1 for n in counts.values() if n > 1),
        "zone_count_buckets": dict(sorted(buckets.items(), key=lambda kv: int(kv[0]))),
        "unscored_pairs": sorted([c, z] for c, z in kept if c not in scored),
        "name_checks": _name_checks(conn, {z for _, z in truth_all}, rule["non_civil_tzid_prefix"]),
        "disagreements": disagreements,
    }


# ---------------------------------------------------------------------- reporting


def _fmt(value, digits) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_report(result: dict[str, Any]) -> str:
    named, canon = result["as_named"], result["canonical"]
    lines = [
        f"Z(c) vs IANA zone.tab (tzdb {result['ground_truth']['iana_version']}), "
        f"{result['scope']['countries_scored']} countries scored",
        f"  as named : P {named['precision']:.4f}  R {named['recall']:.4f}  "
        f"(TP {named['true_positive']}, FP {named['false_positive']}, FN {named['false_negative']}; "
        f"{named['predicted']} predicted, {named['truth']} true)",
        f"  canonical: P {canon['precision']:.4f}  R {canon['recall']:.4f}  "
        f"(TP {canon['true_positive']}, FP {canon['false_positive']}, FN {canon['false_negative']})",
        f"  pairs {result['pairs_total']}, multi-zone countries {result['countries_multi_zone']}",
    ]
    if "timing" in result:
        t = result["timing"]
        lines.append(f"  model run {t['seconds_total']:.1f} s on {t['threads']} threads, peak RSS {t['peak_rss_mb']:.0f} MB")
    lines.append("")
    lines.append(
        f"  {'kind':<4} {'cc':<3} {'tzid':<32} {'category':<18} {'links':<5} "
        f"{'km2':>12} {'of_cty':>7} {'of_zone':>7}  iana/holder"
    )
    for d in result["disagreements"]:
        lines.append(
            f"  {d['kind']:<4} {d['country_iso']:<3} {d['tzid']:<32} {d['category']:<18} "
            f"{'yes' if d['resolved_by_links'] else 'no':<5} "
            f"{_fmt(d['overlap_km2'], 2):>12} {_fmt(d['share_of_country'], 4):>7} {_fmt(d['share_of_zone_land'], 4):>7}  "
            f"{','.join(d['iana_countries']) or '-'}/{d['zone_land_holder'] or '-'}"
        )
    return "\n".join(lines)


def evaluate_files(world_countries: Path, tz_world: Path, rule: dict[str, Any], threads: int | None = None) -> dict[str, Any]:
    """Build the models on a fresh in-memory connection and score them."""
    from seg3a.core.duck import connect

    conn = connect(threads=threads)
    try:
        bind_inputs(conn, world_countries, tz_world)
        seconds = run_models(conn, rule)
        result = evaluate(conn, rule)
        used_threads = conn.execute("SELECT current_setting('threads')").fetchone()[0]
    finally:
        conn.close()
    result["timing"] = {
        "seconds": seconds,
        "seconds_total": round(sum(seconds.values()), 3),
        "threads": used_threads,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seg3a zones evaluate",
        description="Build Z(c) with the zone_universe models and score it against IANA zone.tab "
        f"(exit 1 when precision or recall is below {TARGET}).",
    )
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="project root holding reference/ (default: this checkout)")
    parser.add_argument("--world-countries", type=Path, help=f"world_countries GeoParquet (default: <root>/{WORLD_COUNTRIES_PATH})")
    parser.add_argument("--tz-world", type=Path, help=f"tz_world GeoParquet (default: <root>/{TZ_WORLD_PATH})")
    parser.add_argument("--rule", type=Path, default=RULE_PATH, help="rule parameter file (default: contracts/zone_universe_rule.yaml)")
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: DuckDB's choice)")
    parser.add_argument("--json", type=Path, help="also write the full result as JSON here")
    parser.add_argument("--write-seed", type=Path, metavar="DIR",
                        help="write iana_zone_tab.csv/.yml from the installed tzdata into DIR and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.write_seed:
        print(f"wrote {write_seed(args.write_seed)}")
        return 0
    world = args.world_countries or args.root / WORLD_COUNTRIES_PATH
    tz = args.tz_world or args.root / TZ_WORLD_PATH
    try:
        result = evaluate_files(world, tz, load_rule(args.rule), threads=args.threads)
    except FileNotFoundError as exc:
        print(f"seg3a zones evaluate: {exc}", file=sys.stderr)
        return 2
    print(format_report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    named = result["as_named"]
    return 0 if named["precision"] >= TARGET and named["recall"] >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
