"""Reproducible builders of the three 3A policy files (spec 02 §3–§5)."""
