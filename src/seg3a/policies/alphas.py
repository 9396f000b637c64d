"""country_zone_alphas derivation (spec 02 §4 steps 4–9): population (or area) mass per
(country, zone) -> Dirichlet concentration per zone.

Ground truth wins (spec 06): the priors follow population. The spec's additive
smoothing eps (step 5) and uniform blend (step 8) are governed parameters kept at 0 by
default: both move mass to zones whose population does not support it (with the blend
at 0.15 every zone of a country held at least 0.15/n of its outlets; a 300-resident
US zone got 0.5 %). The only device left is ALPHA_MIN, so that a zone without recorded
people still has a valid (positive) Dirichlet shape."""
from __future__ import annotations

import math
from dataclasses import dataclass

from python_udfs.csum import csum

BLEND_LAMBDA = 0.0
SMOOTHING = False
ALPHA_MIN = 0.005
A_MIN, A_MAX = 20.0, 140.0


@dataclass(frozen=True)
class CountryMass:
    """Mass per zone of one country and which basis it came from."""

    country_iso: str
    mass: dict[str, float]  # tzid -> persons (or km^2 when basis == "area_fallback")
    basis: str  # "population" | "area_fallback"


def choose_mass(country_iso: str, zones: list[str], population: dict[str, float], area_km2: dict[str, float],
                population_whenever_present: bool = True) -> CountryMass:
    """Step 4: population when the country has any (default), area only without. The
    spec's rule (area when more than half of the zones lack population;
    `population_whenever_present=False`) gives uninhabited zones a share by their size."""
    pop = {z: float(population.get(z, 0.0)) for z in zones}
    missing = sum(1 for z in zones if pop[z] <= 0.0)
    if csum(list(pop.values())) > 0.0 and (population_whenever_present or missing * 2 <= len(zones)):
        return CountryMass(country_iso, pop, "population")
    area = {z: float(area_km2.get(z, 0.0)) for z in zones}
    if csum(list(area.values())) <= 0.0:
        # Neither basis has mass: every zone counts the same (documented in decisions.md).
        area = {z: 1.0 for z in zones}
    return CountryMass(country_iso, area, "area_fallback")


def concentration(total_mass: float, zone_count: int) -> float:
    """Step 6: A(c) = clamp(12 + 3n + 8 ln(1 + p_m), 20, 140) with p_m in millions."""
    p_m = max(total_mass, 1.0) / 1e6
    return min(max(12.0 + 3.0 * zone_count + 8.0 * math.log(1.0 + p_m), A_MIN), A_MAX)


def country_alphas(country: CountryMass, blend_lambda: float = BLEND_LAMBDA, smoothing: bool = SMOOTHING) -> dict[str, float]:
    """Steps 5–8 for one country; zones in ascending tzid order. `smoothing` adds the
    spec's eps = max(1000, M/10000) to every zone's mass (step 5)."""
    zones = sorted(country.mass)
    masses = [country.mass[z] for z in zones]
    total = csum(masses)
    eps = max(1000.0, total / 10000.0) if smoothing else 0.0
    smoothed = [m + eps for m in masses]
    denominator = csum(smoothed)
    scale = concentration(total, len(zones))
    alphas = [round(max(scale * (s / denominator), ALPHA_MIN), 9) for s in smoothed]
    if blend_lambda > 0.0:
        alpha_sum = csum(alphas)
        n = len(zones)
        blended = [(1.0 - blend_lambda) * (a / alpha_sum) + blend_lambda / n for a in alphas]
        alphas = [round(max(share * alpha_sum, 1e-9), 9) for share in blended]
    return dict(zip(zones, alphas))
