"""Deterministic hash-uniform `U(label, m, c, H)` of spec 02 §2.

    msg = label + "|" + dec(m) + "|" + c + "|" + H
    x   = BE64(SHA256(utf8(msg))[0:8])
    u   = (double(x) + 0.5) / 2^64

Used by S1 (`3A.S1.theta_mix`, `3A.S1.smooth_band`) and by the S3 dispersion
jitter (`3A.S3.dispersion`, spec 03 §3.3 step 3).  One SHA-256 per element is
inherent; everything after the digests is vectorised.
"""
from __future__ import annotations

import hashlib
import numbers
import re
from collections.abc import Sequence

import numpy as np

__all__ = [
    "LABEL_THETA_MIX",
    "LABEL_SMOOTH_BAND",
    "LABEL_S3_DISPERSION",
    "TWO_POW_64",
    "hash_uniform",
    "hash_uniform_batch",
    "hash_prefix_u64_batch",
    "hash_prefix_u64_keys",
    "pair_keys",
    "uniform_from_u64",
    "merchant_ids_as_ints",
    "as_str_list",
    "check_hex64",
]

LABEL_THETA_MIX = "3A.S1.theta_mix"
LABEL_SMOOTH_BAND = "3A.S1.smooth_band"
LABEL_S3_DISPERSION = "3A.S3.dispersion"
TWO_POW_64 = 18446744073709551616.0

_HEX64 = re.compile(r"[0-9a-f]{64}")
_U64_MAX = (1 << 64) - 1


def check_hex64(value: str, what: str) -> str:
    """Return `value` if it is 64 lowercase hex characters, else raise ValueError."""
    if not isinstance(value, str) or _HEX64.fullmatch(value) is None:
        raise ValueError(f"{what} must be 64 lowercase hex characters, got {value!r}")
    return value


def merchant_ids_as_ints(merchant_ids) -> list[int]:
    """Merchant ids as Python ints (for `dec(m)`), checked to be uint64 values."""
    if isinstance(merchant_ids, (list, tuple)):
        # NumPy would turn a list mixing small ints and ints >= 2^63 into float64.
        ints = [int(m) for m in merchant_ids if isinstance(m, numbers.Integral) and not isinstance(m, bool)]
        if len(ints) != len(merchant_ids):
            raise ValueError("merchant_ids must be integers")
        if ints and (min(ints) < 0 or max(ints) > _U64_MAX):
            raise ValueError("merchant_ids must be in the uint64 range")
        return ints
    array = np.asarray(merchant_ids)
    if array.ndim != 1:
        raise ValueError("merchant_ids must be one-dimensional")
    if array.dtype.kind not in "ui" and array.size:
        raise ValueError(f"merchant_ids must be integers, got dtype {array.dtype}")
    ints = array.tolist()
    if ints and (min(ints) < 0 or max(ints) > _U64_MAX):
        raise ValueError("merchant_ids must be in the uint64 range")
    return ints


def as_str_list(values, n: int, what: str) -> list[str]:
    """`values` (list, tuple or array of str) as a list of n strings, else ValueError."""
    items = values if isinstance(values, list) else np.asarray(values, dtype=object).tolist()
    if not isinstance(items, list) or len(items) != n:
        raise ValueError(f"{what} must be a sequence of {n} strings")
    # The set of types is a C-speed check; str subclasses take the slow path.
    if not set(map(type, items)) <= {str} and not all(isinstance(v, str) for v in items):
        raise ValueError(f"{what} must hold strings")
    return items


def pair_keys(merchant_ids, country_isos) -> list[str]:
    """The `dec(m) + "|" + c` part shared by every per-pair message, one per pair."""
    ids = merchant_ids_as_ints(merchant_ids)
    countries = as_str_list(country_isos, len(ids), "country_isos")
    return [f"{m}|{c}" for m, c in zip(ids, countries)]


def hash_prefix_u64_keys(label: str, keys: list[str], parameter_hash: str | Sequence[str]) -> np.ndarray:
    """`BE64(SHA256(label|key|H)[0:8])` for pre-built `pair_keys`, as uint64."""
    sha = hashlib.sha256
    if isinstance(parameter_hash, str):
        suffix = "|" + check_hex64(parameter_hash, "parameter_hash")
        digests = [sha(f"{label}|{key}{suffix}".encode("utf-8")).digest()[:8] for key in keys]
    else:
        hashes = as_str_list(parameter_hash, len(keys), "parameter_hash")
        for h in set(hashes):
            check_hex64(h, "parameter_hash")
        digests = [sha(f"{label}|{key}|{h}".encode("utf-8")).digest()[:8] for key, h in zip(keys, hashes)]
    return np.frombuffer(b"".join(digests), dtype=">u8").astype(np.uint64)


def hash_prefix_u64_batch(label: str, merchant_ids, country_isos, parameter_hash: str | Sequence[str]) -> np.ndarray:
    """`BE64(SHA256(label|dec(m)|c|H)[0:8])` for every element, as uint64."""
    return hash_prefix_u64_keys(label, pair_keys(merchant_ids, country_isos), parameter_hash)


def uniform_from_u64(x: np.ndarray) -> np.ndarray:
    """(double(x) + 0.5) / 2^64: nearest double (ties-to-even), then + 0.5, then / 2^64."""
    return (x.astype(np.float64) + 0.5) / TWO_POW_64


def hash_uniform_batch(label: str, merchant_ids, country_isos, parameter_hash: str | Sequence[str]) -> np.ndarray:
    """Vector of `U(label, m, c, H)` as float64, one per (merchant_id, country_iso).

    `parameter_hash` is one 64-hex string for the whole batch or one per element.
    """
    return uniform_from_u64(hash_prefix_u64_batch(label, merchant_ids, country_isos, parameter_hash))


def hash_uniform(label: str, merchant_id: int, country_iso: str, parameter_hash: str) -> float:
    """Scalar `U(label, m, c, H)`."""
    return float(hash_uniform_batch(label, [merchant_id], [country_iso], parameter_hash)[0])
