"""Known-answer vectors of spec 03 §7 (TV-1 .. TV-6).

TV-7 and TV-8 concern S4 integerisation and are tested with S4.
"""
from __future__ import annotations

import numpy as np
import pytest

from python_udfs import _libm
from python_udfs.hashing import LABEL_S3_DISPERSION, hash_uniform
from python_udfs.rng import (
    Dispersion,
    Stream,
    box_muller,
    derive_substream,
    dirichlet_batch,
    dispersion_jitter_scale,
    effective_alphas,
    gamma_batch,
    master_material,
    pair,
    philox_block,
    rng_stream_id,
    u01,
    u01_scalar,
)

FINGERPRINT = "0123456789abcdef" * 4
SEED = 42
MERCHANT = 1234567890123
COUNTRY = "US"
PARAMETER_HASH = "fedcba9876543210" * 4

H_HEX = "ba85244a43139229b2f915bb712b5a75f78f032c5640826566f30fd0d1f61017"
KEY = 0x1710F6D1D00FF366
HI0 = 0xF78F032C56408265
LO0 = 0x66F30FD0D1F61017

PUBLISHED = Dispersion(enabled=True, concentration_scale=0.65, alpha_temperature=1.0,
                       merchant_jitter=0.0, merchant_jitter_clip=0.0, alpha_floor=1e-6)
THIRD_ROW = Dispersion(enabled=True, concentration_scale=0.8, alpha_temperature=0.7,
                       merchant_jitter=0.2, merchant_jitter_clip=0.3, alpha_floor=1e-4)


# ------------------------------------------------------------------ TV-1 keying


def test_tv1_master_material():
    assert master_material(FINGERPRINT, SEED).hex() == "83135539e6967b95eca0f5474977b6a22d824744dcd0e92f2e4eddb423f4da0f"


def test_tv1_stream_id():
    assert rng_stream_id(MERCHANT, COUNTRY) == "58484534216c4123b8bf5568f6c0ea522ad19805bff1daf2733b5eaa9511feae"


def test_tv1_key_and_base_counter():
    assert derive_substream(FINGERPRINT, SEED, MERCHANT, COUNTRY) == (KEY, HI0, LO0)
    assert HI0 == 17838480137998336613 and LO0 == 7418290400759517207


def test_tv1_constants_are_the_published_digest_bytes():
    # k is H[24:32] little-endian, lo0 the same bytes big-endian, hi0 = BE64(H[16:24]).
    h = bytes.fromhex(H_HEX)
    assert KEY == int.from_bytes(h[24:32], "little")
    assert LO0 == int.from_bytes(h[24:32], "big")
    assert HI0 == int.from_bytes(h[16:24], "big")


def test_master_material_rejects_bad_fingerprint():
    with pytest.raises(ValueError):
        master_material("0123", SEED)
    with pytest.raises(ValueError):
        master_material(FINGERPRINT.upper(), SEED)


# ------------------------------------------------------------------ TV-2 first blocks

TV2 = [
    (0, 0x762AB2BA6965A790, 0x8AC4E272B4AC1472, 0.46158902216975284, 0.5420667200129831),
    (1, 0xA447D54E7185C4D3, 0xD3B2E6724CE39979, 0.641721088076813, 0.8269485501340469),
    (2, 0x84241FAF6DB84712, 0x9C376C1D66545077, 0.5161762049953903, 0.6102206775452299),
]


@pytest.mark.parametrize(("j", "x0", "x1", "u0", "u1"), TV2)
def test_tv2_blocks_and_uniforms(j, x0, x1, u0, u1):
    assert philox_block(KEY, HI0, LO0 + j) == (x0, x1)
    assert (u01_scalar(x0), u01_scalar(x1)) == (u0, u1)


def test_tv2_pair_lane_policy_batch_and_stream():
    lo = np.array([LO0, LO0 + 1, LO0 + 2], dtype=np.uint64)
    got0, got1 = pair(np.full(3, KEY, np.uint64), np.full(3, HI0, np.uint64), lo)
    assert got0.tolist() == [row[3] for row in TV2]
    assert got1.tolist() == [row[4] for row in TV2]
    stream = Stream(KEY, HI0, LO0)
    assert [stream.pair() for _ in TV2] == [(row[3], row[4]) for row in TV2]
    assert (stream.blocks, stream.draws) == (3, 6)


def test_single_uses_low_lane_and_discards_high_lane():
    stream = Stream(KEY, HI0, LO0)
    assert stream.single() == TV2[0][3]
    assert stream.single() == TV2[1][3]  # next block, never the discarded x1
    assert (stream.blocks, stream.draws) == (2, 2)


# ------------------------------------------------------------------ TV-3 u01 edges


def test_tv3_u01_edges_scalar_and_batch():
    xs = [0, 0xFFFFFFFFFFFFFFFF, 0x8000000000000BFF]
    expected = [5.421010862427522e-20, float.fromhex("0x1.fffffffffffffp-1"), float.fromhex("0x1.0000000000001p-1")]
    assert [u01_scalar(x) for x in xs] == expected
    assert u01(np.array(xs, dtype=np.uint64)).tolist() == expected
    assert expected[0] == 2.0**-64
    # The integer-first variant gives a different value on the last vector.
    assert (0x8000000000000BFF + 1) * 2.0**-64 == float.fromhex("0x1.0000000000002p-1")


def test_u01_batch_conversion_rounds_like_python_float():
    # NumPy's uint64 -> float64 cast must be nearest, ties-to-even like float(int).
    rng = np.random.default_rng(17)
    top = rng.integers(0, 1 << 64, 20000, dtype=np.uint64, endpoint=False)
    ties = (np.uint64(1) << np.uint64(63)) + rng.integers(0, 1 << 20, 5000, dtype=np.uint64) * np.uint64(2048) + np.uint64(1024)
    x = np.concatenate([top, ties, np.array([2**53 + 1, 2**63 - 1, 2**63 + 1024, 2**64 - 1025], np.uint64)])
    got = u01(x).tolist()
    assert got == [u01_scalar(v) for v in x.tolist()]
    assert all(2.0**-64 <= u < 1.0 for u in got)


# ------------------------------------------------------------------ TV-4 one gamma draw (boost)


def test_tv4_gamma_boost_step_by_step():
    d = (0.8 + 1.0) - (1.0 / 3.0)
    c = 1.0 / np.sqrt(9.0 * d)
    assert d == 1.4666666666666668 and c == 0.2752409412815901
    u1, u2 = pair([KEY], [HI0], [LO0])
    z = float(box_muller(u1, u2)[0])
    assert z == -1.2002649254307904
    v = float(_libm.vpow([1.0 + c * z], 3.0)[0])
    assert v == 0.30027569356374184
    ln_u = float(_libm.vlog([0.641721088076813])[0])
    assert ln_u == -0.44360151193750513
    bound = ((((0.5 * z) * z) + d) - d * v) + d * float(_libm.vlog([v])[0])
    assert bound == -0.017899301697973602 and ln_u < bound
    assert d * v == 0.44040435056015476


def test_tv4_gamma_draw_and_cost():
    stream = Stream(KEY, HI0, LO0)
    assert stream.gamma(0.8) == 0.19268551846115142
    assert (stream.blocks, stream.draws) == (3, 4)


def test_tv4_boosted_shape_alone_gives_g_prime():
    result = gamma_batch([KEY], [HI0], [LO0], [1.8])
    assert result.values.tolist() == [0.44040435056015476]
    assert (int(result.blocks[0]), int(result.draws[0])) == (2, 3)


# ------------------------------------------------------------------ TV-5 Dirichlet

TV5 = [
    ("disabled", None, [0.8, 2.5, 1.3], 4.6, 7, 10,
     [0.05474065186857287, 0.6458309906724625, 0.2994283574589646]),
    ("published", PUBLISHED, [0.5199999999999999, 1.625, 0.845], 2.9899999999999998, 8, 11,
     [0.051092220142868704, 0.833305904939282, 0.11560187491784928]),
    ("third_row", THIRD_ROW, [0.7049961347479561, 1.5652429309973823, 0.9903394777992254], 3.260578543544564, 8, 11,
     [0.08749465587383125, 0.7496306807764176, 0.16287466334975118]),
]


def draw_tv5(policy):
    return dirichlet_batch(FINGERPRINT, SEED, np.array([MERCHANT], dtype=np.uint64), [COUNTRY],
                           np.array([0.8, 2.5, 1.3]), np.array([0, 3]), policy, PARAMETER_HASH)


@pytest.mark.parametrize(("name", "policy", "alpha_eff", "alpha_sum", "blocks", "draws", "shares"), TV5,
                         ids=[row[0] for row in TV5])
def test_tv5_dirichlet(name, policy, alpha_eff, alpha_sum, blocks, draws, shares):
    result = draw_tv5(policy)
    assert result.alpha_eff.tolist() == alpha_eff
    assert result.alpha_sum.tolist() == [alpha_sum]
    assert (int(result.blocks[0]), int(result.draws[0])) == (blocks, draws)
    assert result.shares.tolist() == shares
    assert result.share_sum.tolist() == [1.0]
    assert (int(result.counter_before_hi[0]), int(result.counter_before_lo[0])) == (HI0, LO0)
    assert int(result.counter_after_hi[0]) == HI0
    assert int(result.counter_after_lo[0]) == LO0 + blocks
    assert result.zone_count.tolist() == [3]
    assert str(result.rng_stream_id[0]) == "58484534216c4123b8bf5568f6c0ea522ad19805bff1daf2733b5eaa9511feae"


def test_tv5_disabled_gammas():
    assert draw_tv5(None).gammas.tolist() == [0.19268551846115142, 2.2733064921253887, 1.0539791969864196]


def test_tv5_published_policy_event_fields():
    result = draw_tv5(PUBLISHED)
    assert int(result.counter_after_lo[0]) == 7418290400759517215
    assert result.blocks.tolist() == [8]
    assert result.draws_decimal() == ["11"]
    assert result.alpha_min.tolist() == [0.5199999999999999]
    assert result.alpha_max.tolist() == [1.625]


def test_tv5_third_row_jitter_intermediates():
    u_h = hash_uniform(LABEL_S3_DISPERSION, MERCHANT, COUNTRY, PARAMETER_HASH)
    assert u_h == 0.21506694534277432
    j, s = dispersion_jitter_scale(THIRD_ROW, [u_h], [3], [4.6])
    assert j.tolist() == [-0.11397322186289027]
    assert s.tolist() == [0.7088214225096878]


def test_tv5_policy_from_mapping_matches_dataclass():
    block = {"enabled": True, "concentration_scale": 0.65, "alpha_temperature": 1.0,
             "merchant_jitter": 0.0, "merchant_jitter_clip": 0.0, "alpha_floor": 1.0e-06, "notes": "x"}
    assert Dispersion.from_mapping(block) == PUBLISHED
    assert Dispersion.from_mapping(None).enabled is False


def test_dispersion_needs_parameter_hash_when_enabled():
    with pytest.raises(ValueError):
        effective_alphas([0.8, 2.5, 1.3], [0, 3], np.array([MERCHANT], np.uint64), [COUNTRY], PUBLISHED, None)


# ------------------------------------------------------------------ TV-6 floor path


def test_tv6_floor_path():
    alpha_eff, alpha_sum = effective_alphas([1e-7, 2.0], [0, 2], np.array([MERCHANT], np.uint64), [COUNTRY],
                                            PUBLISHED, PARAMETER_HASH)
    assert alpha_eff.tolist() == [9.999999999994466e-07, 1.299999065]
    assert alpha_sum.tolist() == [1.3000000649999999]
