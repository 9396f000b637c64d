"""Documentation generated from the contracts (seg3a docs columns)."""
