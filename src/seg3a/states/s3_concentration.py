"""The site-count concentration knob of `zone_mixture_policy` (`s3_dispersion.
site_count_concentration`, from policy v1.2.0; docs/decisions.md, "Merchant-size-aware
concentration").

S3 scales each escalated pair's S2 shapes by a factor of its site count n in the
country before the dispersion transform of spec 03 §3.3, so the pair's concentration
becomes tau(c) * g(n) while its Dirichlet mean stays the prior:

    g(n) = clamp((n / reference_sites) ** exponent, min_factor, max_factor)

A chain (large n) draws shares close to its country's population mix; a merchant with
a few outlets concentrates them in a few zones, drawn by population. The exponent is
1/2 or 1 only: sqrt and division are correctly rounded in IEEE arithmetic, so the
DuckDB and Spark targets (the SQL of int_s3__pairs_with_alpha) and NumPy (replays,
tests) compute the same bits. Disabled, or with the whole s3_dispersion block disabled
or absent, g = 1 and the shapes are S2's, bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

KEY = "site_count_concentration"
EXPONENTS = (0.5, 1.0)
# (low, high, low end open)
RANGES = {
    "reference_sites": (1.0, 1000.0, False),
    "min_factor": (0.0, 1.0, True),
    "max_factor": (1.0, 64.0, False),
}
FIELDS = ("enabled", "exponent", "reference_sites", "min_factor", "max_factor")


@dataclass(frozen=True)
class SiteCountConcentration:
    """g(n) of the module docstring; the default is off (g = 1)."""

    enabled: bool = False
    exponent: float = 0.5
    reference_sites: float = 1.0
    min_factor: float = 1.0
    max_factor: float = 1.0

    @classmethod
    def from_dispersion(cls, block: Mapping[str, Any] | None) -> "SiteCountConcentration":
        """From a validated `s3_dispersion` block (None = absent): off unless both the
        block and the knob are enabled."""
        if not block or not block.get("enabled") or KEY not in block:
            return cls()
        knob = block[KEY]
        return cls(**{field: (bool(knob[field]) if field == "enabled" else float(knob[field])) for field in FIELDS})

    def factor(self, site_count) -> np.ndarray:
        """g(n) per element of `site_count`."""
        n = np.asarray(site_count, dtype=np.float64)
        if not self.enabled:
            return np.ones_like(n)
        ratio = n / self.reference_sites
        raw = np.sqrt(ratio) if self.exponent == 0.5 else ratio
        return np.minimum(np.maximum(raw, self.min_factor), self.max_factor)

    def scaled(self, alpha, site_count_per_alpha) -> np.ndarray:
        """S2 shapes scaled by g(n) of their pair (one site count per shape)."""
        return np.asarray(alpha, dtype=np.float64) * self.factor(site_count_per_alpha)

    def row(self) -> dict[str, Any]:
        """The knob as the columns of int_s3__dispersion_policy (prefixed)."""
        return {f"{KEY}_{field}": getattr(self, field) for field in FIELDS}
