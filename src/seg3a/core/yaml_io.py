"""YAML parsing for every state: libyaml's parser (same safe constructors and resolver as
`yaml.safe_load`) and a per-process cache of parsed documents keyed by the exact bytes and
the loader class.

Why a cache: one `dbt build` (and every seed of a seedpack lane) parses the same
catalogue, schema packs and policies in S0 and again in each state's entry gate; parsing
was about 2.5 CPU s per build. The key is the document's bytes, so a changed file is
parsed afresh; each call gets its own copy (unpickled), so callers may mutate it.
Parse errors are not cached and surface as `yaml.YAMLError` to the caller's own code.
"""
from __future__ import annotations

import functools
import pickle
from typing import Any

import yaml

SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=128)
def _parsed(data: bytes, loader: type) -> bytes:
    return pickle.dumps(yaml.load(data, Loader=loader), protocol=pickle.HIGHEST_PROTOCOL)


def load(data: bytes | str, loader: type | None = None) -> Any:
    """The document in `data` parsed with `loader` (a safe loader; default libyaml's)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return pickle.loads(_parsed(data, loader or SafeLoader))
