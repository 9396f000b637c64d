"""zone_floor_policy derivation (spec 02 §5): floors grow with how many countries share
a zone; widely shared zones only bump when already dominant."""
from __future__ import annotations

import math

BUMP_CUTOFF = 0.60


def zone_floors(all_tzids: list[str], zones_by_country: dict[str, list[str]]) -> list[dict]:
    """One row per tzid of the tz reference, ascending by tzid."""
    sharing: dict[str, int] = {}
    for zones in zones_by_country.values():
        for tzid in zones:
            sharing[tzid] = sharing.get(tzid, 0) + 1
    k_max = max(sharing.values(), default=1)
    rows = []
    for tzid in sorted(set(all_tzids)):
        k = sharing.get(tzid, 0)
        s = math.log(1 + k) / math.log(1 + k_max) if k_max > 0 else 0.0
        bump = BUMP_CUTOFF if s >= BUMP_CUTOFF else 0.0
        floor = 0.01 + 0.11 * math.sqrt(s)
        if bump == BUMP_CUTOFF:
            floor *= 1.25
        floor = min(max(floor, 0.0), 0.25)
        rows.append({"tzid": tzid, "floor_value": float(f"{floor:.6f}"), "bump_threshold": bump})
    return rows
