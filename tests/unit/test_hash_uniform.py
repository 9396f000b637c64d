"""Hash-uniform U(label, m, c, H) of spec 02 §2 (table of known answers)."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from python_udfs.hashing import (
    LABEL_S3_DISPERSION,
    LABEL_SMOOTH_BAND,
    LABEL_THETA_MIX,
    hash_prefix_u64_batch,
    hash_uniform,
    hash_uniform_batch,
)

ZEROS = "0" * 64

# (label, merchant_id, country, H, D[0..7] hex, x, u) from spec 02 §2.
TABLE = [
    (LABEL_THETA_MIX, 1, "US", ZEROS, "462d894185aee78f", 5056848871115646863, 0.27413232659972275),
    (LABEL_THETA_MIX, 42, "GB", ZEROS, "0123001f3577d492", 81909352263832722, 0.004440314883566395),
    (LABEL_THETA_MIX, 18446744073709551615, "DE", ZEROS, "50e3fe71b9cbb7d0", 5828782107149449168, 0.31597891117580346),
    (LABEL_SMOOTH_BAND, 1, "US", ZEROS, "d23aa75b9de1dbc5", 15148604308546771909, 0.8212074850724841),
    (LABEL_THETA_MIX, 12345, "FR", "a" * 64, "893dffc4072093d6", 9889341574173725654, 0.5361022809585185),
]


def test_label_spellings():
    assert (LABEL_THETA_MIX, LABEL_SMOOTH_BAND, LABEL_S3_DISPERSION) == (
        "3A.S1.theta_mix", "3A.S1.smooth_band", "3A.S3.dispersion")


@pytest.mark.parametrize(("label", "m", "c", "h", "prefix", "x", "u"), TABLE)
def test_table_scalar(label, m, c, h, prefix, x, u):
    assert int(prefix, 16) == x  # the table is self-consistent
    assert hash_prefix_u64_batch(label, np.array([m], dtype=np.uint64), [c], h).tolist() == [x]
    assert hash_uniform(label, m, c, h) == u


def test_table_batch_with_per_element_hashes():
    labels = {row[0] for row in TABLE}
    for label in labels:
        rows = [row for row in TABLE if row[0] == label]
        got = hash_uniform_batch(label, np.array([r[1] for r in rows], dtype=np.uint64),
                                 [r[2] for r in rows], [r[3] for r in rows])
        assert got.dtype == np.float64
        assert got.tolist() == [r[6] for r in rows]


def test_batch_accepts_plain_lists_with_large_ids():
    got = hash_uniform_batch(LABEL_THETA_MIX, [1, 18446744073709551615], ["US", "DE"], ZEROS)
    assert got.tolist() == [0.27413232659972275, 0.31597891117580346]


def test_labels_give_independent_streams():
    ids = np.arange(1, 2001, dtype=np.uint64)
    countries = ["US"] * ids.size
    a = hash_uniform_batch(LABEL_THETA_MIX, ids, countries, ZEROS)
    b = hash_uniform_batch(LABEL_SMOOTH_BAND, ids, countries, ZEROS)
    assert not np.any(a == b)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.1


def test_random_elements_match_formula_and_stay_in_open_interval():
    rng = np.random.default_rng(8)
    ids = rng.integers(1, 1 << 64, 500, dtype=np.uint64, endpoint=False)
    countries = [rng.choice(["US", "DE", "JP", "ZA"]) for _ in range(ids.size)]
    got = hash_uniform_batch(LABEL_S3_DISPERSION, ids, countries, "b" * 64)
    for m, c, u in zip(ids.tolist(), countries, got.tolist()):
        digest = hashlib.sha256(f"3A.S3.dispersion|{m}|{c}|{'b' * 64}".encode()).digest()
        assert u == (float(int.from_bytes(digest[:8], "big")) + 0.5) / 18446744073709551616.0
        assert 0.0 < u < 1.0


@pytest.mark.parametrize("bad", ["F" * 64, "0" * 63, "g" * 64, None])
def test_rejects_malformed_parameter_hash(bad):
    with pytest.raises(ValueError):
        hash_uniform_batch(LABEL_THETA_MIX, np.array([1], dtype=np.uint64), ["US"], bad)


def test_rejects_negative_or_float_merchant_ids():
    with pytest.raises(ValueError):
        hash_uniform_batch(LABEL_THETA_MIX, np.array([-1]), ["US"], ZEROS)
    with pytest.raises(ValueError):
        hash_uniform_batch(LABEL_THETA_MIX, np.array([1.0]), ["US"], ZEROS)


def test_empty_batch():
    assert hash_uniform_batch(LABEL_THETA_MIX, np.array([], dtype=np.uint64), [], ZEROS).size == 0
