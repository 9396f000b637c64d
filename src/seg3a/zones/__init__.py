"""Z(c), the zone universe: evaluation against IANA zone.tab and a small runner for
the dbt models under `models/segment3a/zone_universe/` (the only implementation)."""
