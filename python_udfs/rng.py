"""Layer-1 RNG for 3A.S3: Philox2x64-10 substreams, gamma and Dirichlet draws.

Implements spec 03 §1 (RNG core, keying, u01, lane policy, Box-Muller,
Marsaglia-Tsang gamma with the alpha < 1 boost, Dirichlet, accounting) and the
`s3_dispersion` effective-shape transform of §3.3, bit-for-bit.  Every pair owns a
fresh substream, so pairs are independent.  The gamma rejection loops run in the C
helper (`_libm.gamma_rows`: each stream's components in order, as §1.8 writes them);
the NumPy functions here (Philox, u01, Box-Muller) are the same steps over arrays,
for keying, the scalar `Stream` and tests.  `log`, `cos` and `pow` come from the C
library (NumPy's SIMD kernels differ in the last bit); `sqrt` and + - * / are IEEE
binary64 in NumPy and in the helper, built without contraction, so neither fuses
separate operations.  Every expression keeps the operand order the spec writes.

Main entry point: `dirichlet_batch`.  Building blocks: `philox2x64_10`, `u01`,
`single`/`pair`/`normal`, `gamma_batch`, `effective_alphas`, keying helpers,
and the scalar `Stream` for step-by-step use.
"""
# Decisions where spec 03 leaves room (binding for this implementation):
#
# Gamma engine in C (an implementation choice that must not change results).
# The rejection loops are sequential per stream (a tiny alpha on the boost path
# needs about 1/(744*alpha) attempts: ~1,300 at alpha = 1e-6), so the C helper
# follows each stream's chain one attempt at a time, exactly as §1.8-§1.9 read,
# instead of advancing many streams in lock-step with NumPy masks (which cost
# about ten times the CPU).  Draws, `blocks` and `draws` are those of the
# sequential algorithm; tests compare them with a scalar Python reference.
#
# Boost acceptance "x finite and x > 0" (§1.8).  A subnormal x is > 0 and is
# accepted, because §0 forbids flush-to-zero; only x == 0 (underflow), inf or
# NaN repeats the boost loop.  alpha == 1.0 exactly takes the alpha >= 1 branch
# (the boost applies to 0 < alpha < 1 only).
#
# Accounting width (§1.10, §2.1).  `draws` is a u128 decimal string in events;
# the batch returns `blocks` and `draws` as uint64 arrays (2^64 draws cannot
# occur in a run) and `DirichletBatch.draws_decimal()` renders the strings.  A
# 128-bit counter wrap (after < before) raises RngError with code E3A_S3_012.
#
# Output checks of §3.4 step 4 (S and share_sum finite and > 0, share_sum within
# 1e-12 of 1, shares in [0, 1]) belong to the S3 state and its code E3A_S3_010;
# the sampler returns S (`gamma_sum`) and `share_sum` unchecked.  Likewise the
# precondition "alpha_sum_country within 1e-12 of csum(alpha)" (§3.1 item 4) is
# the state's check; here alpha must only be finite and > 0 and K >= 1.
#
# Dispersion disabled or absent (§3.3).  alpha_eff = alpha and A_eff = csum(alpha)
# of the S2 shapes in tzid order, not the stored alpha_sum_country.
#
# Dispersion enabled (§3.3).  u_h is always computed ("computed but has no
# effect" at merchant_jitter = 0), so `parameter_hash` is required whenever the
# transform is enabled.  The temperature test |T - 1| > 1e-12 is a policy-wide
# switch.  In step 5, K is converted to binary64 before `alpha_floor * K` (exact
# for any real K) and the product is divided by A afterwards, as written.  `max`
# is the ordinary maximum of two finite numbers.  Step 9's rescale and the
# recomputed F apply per pair, only to pairs whose |F - tau| exceeds 1e-9.
# Numeric failures (a sum non-finite or <= 0, or step 10) raise RngError with
# code E3A_S3_012; a non-finite or non-positive alpha_eff raises E3A_S3_006.
#
# Component order (§1.9).  The caller passes each pair's shapes in ascending
# tzid order; the sampler draws them in the order given and cannot check it,
# since it never sees tzids.
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from collections.abc import Mapping

import numpy as np

from . import _libm
from .csum import csum_ragged, ragged_lengths
from .hashing import (
    LABEL_S3_DISPERSION,
    check_hex64,
    hash_prefix_u64_keys,
    pair_keys,
    uniform_from_u64,
)

__all__ = [
    "M0", "W0", "TAU", "U01_MAX", "TWO_POW_M64", "ALGORITHM",
    "RngError",
    "philox2x64_10", "philox_block",
    "u128_add", "u01", "u01_scalar",
    "master_material", "rng_stream_id", "rng_stream_ids", "substream_keys", "derive_substream",
    "single", "pair", "box_muller", "normal", "Stream",
    "GammaBatch", "gamma_batch",
    "Dispersion", "dispersion_jitter_scale", "effective_alphas",
    "DirichletBatch", "dirichlet_batch",
]

ALGORITHM = "philox2x64-10"
M0 = 0xD2B74407B1CE6E93
W0 = 0x9E3779B97F4A7C15
TAU = float.fromhex("0x1.921fb54442d18p+2")
TWO_POW_M64 = float.fromhex("0x1.0000000000000p-64")
U01_MAX = float.fromhex("0x1.fffffffffffffp-1")

_U64 = np.uint64
_MASK32 = _U64(0xFFFFFFFF)
_SHIFT32 = _U64(32)
_M0 = _U64(M0)
_M0_LO = _U64(M0 & 0xFFFFFFFF)
_M0_HI = _U64(M0 >> 32)
_W0 = _U64(W0)
_ROUNDS = 10
_PHILOX_CHUNK = 16384  # keeps the ~8 working arrays of one chunk in L2 cache

_MASTER_TAG = "mlr:3A.master"
_SUBSTREAM_TAG = "mlr:3A.zone_dirichlet"
_SUBSTREAM_LABEL = "zone_dirichlet"
_STREAM_ID_PREFIX = "3A.S3|zone_dirichlet|"

E_DOMAIN_S2 = "E3A_S3_005_DOMAIN_MISMATCH_S2"
E_ALPHA = "E3A_S3_006_DIRICHLET_ALPHA_MISMATCH"
E_NUMERIC = "E3A_S3_012_INFRASTRUCTURE_IO_ERROR"


class RngError(ValueError):
    """A failure of the S3 sampling maths, carrying the spec's error code and context."""

    def __init__(self, code: str, message: str, **context):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.context = context


# --------------------------------------------------------------------------- Philox


def _u64_array(values, name: str) -> np.ndarray:
    """`values` as a contiguous uint64 array; negative or non-integer input is an error."""
    if isinstance(values, (list, tuple, int)):
        # Direct conversion: NumPy would infer float64 for a list mixing small
        # ints and ints >= 2^63, and it raises on negatives or values >= 2^64.
        try:
            return np.array(values, dtype=np.uint64)
        except (OverflowError, TypeError) as exc:
            raise ValueError(f"{name} must hold uint64 values: {exc}") from exc
    array = np.asarray(values)
    if array.dtype != np.uint64:
        if array.dtype.kind not in "ui" and array.size:
            raise ValueError(f"{name} must be an unsigned 64-bit integer array, got {array.dtype}")
        if array.dtype.kind == "i" and array.size and array.min() < 0:
            raise ValueError(f"{name} must not be negative")
        array = array.astype(np.uint64)
    return np.ascontiguousarray(array)


def _philox_chunk(key: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = lo.size
    a, b, kappa = lo.copy(), hi.copy(), key.copy()
    a_lo, a_hi, ll, lh, hl, hh, tmp, low = (np.empty(n, dtype=np.uint64) for _ in range(8))
    for r in range(_ROUNDS):
        # high64(M0 * a) from 32-bit limbs: four partial products fit in 64 bits,
        # `ll` collects the middle column whose carry enters the high word.
        np.bitwise_and(a, _MASK32, out=a_lo)
        np.right_shift(a, _SHIFT32, out=a_hi)
        np.multiply(a_lo, _M0_LO, out=ll)
        np.multiply(a_lo, _M0_HI, out=lh)
        np.multiply(a_hi, _M0_LO, out=hl)
        np.multiply(a_hi, _M0_HI, out=hh)
        np.right_shift(ll, _SHIFT32, out=ll)
        np.bitwise_and(lh, _MASK32, out=tmp)
        ll += tmp
        np.bitwise_and(hl, _MASK32, out=tmp)
        ll += tmp
        np.right_shift(ll, _SHIFT32, out=ll)
        np.right_shift(lh, _SHIFT32, out=lh)
        hh += lh
        np.right_shift(hl, _SHIFT32, out=hl)
        hh += hl
        hh += ll
        np.multiply(a, _M0, out=low)  # low64 of the product (wraps mod 2^64)
        hh ^= kappa
        hh ^= b
        # new a = high ^ kappa ^ old b, new b = low; recycle the old buffers.
        a, hh = hh, a
        b, low = low, b
        if r + 1 < _ROUNDS:
            kappa += _W0
    return a, b


def philox2x64_10(key, ctr_hi, ctr_lo) -> tuple[np.ndarray, np.ndarray]:
    """Philox2x64-10 block function over arrays: returns (x0, x1) as uint64 arrays.

    Random123 `philox2x64_10` with ctr[0] = lo, ctr[1] = hi, key[0] = key.
    """
    key = _u64_array(key, "key")
    hi = _u64_array(ctr_hi, "ctr_hi")
    lo = _u64_array(ctr_lo, "ctr_lo")
    if not key.shape == hi.shape == lo.shape or key.ndim != 1:
        raise ValueError("key, ctr_hi and ctr_lo must be 1-D arrays of one length")
    n = lo.size
    if n <= _PHILOX_CHUNK:
        return _philox_chunk(key, hi, lo)
    x0 = np.empty(n, dtype=np.uint64)
    x1 = np.empty(n, dtype=np.uint64)
    for start in range(0, n, _PHILOX_CHUNK):
        part = slice(start, start + _PHILOX_CHUNK)
        x0[part], x1[part] = _philox_chunk(key[part], hi[part], lo[part])
    return x0, x1


def philox_block(key: int, ctr_hi: int, ctr_lo: int) -> tuple[int, int]:
    """Scalar PHILOX(k, hi, lo) -> (x0, x1) as Python ints."""
    x0, x1 = philox2x64_10([key], [ctr_hi], [ctr_lo])
    return int(x0[0]), int(x1[0])


# --------------------------------------------------------------------------- counters and uniforms


def u128_add(hi, lo, n) -> tuple[np.ndarray, np.ndarray]:
    """(hi, lo) + n for u128 counters as uint64 word arrays; n is a uint64 array or int."""
    hi = _u64_array(hi, "hi")
    lo = _u64_array(lo, "lo")
    n = np.asarray(n, dtype=np.uint64)
    new_lo = lo + n
    carry = (new_lo < lo).astype(np.uint64)
    return hi + carry, new_lo


def u01(x) -> np.ndarray:
    """Open-interval uniform of §1.5: double(x) first, then + 1.0, then * 2^-64."""
    f = _u64_array(x, "x").astype(np.float64)  # nearest double, ties-to-even
    f += 1.0
    f *= TWO_POW_M64
    f[f == 1.0] = U01_MAX
    return f


def u01_scalar(x: int) -> float:
    """Scalar `u01` (reference semantics with Python floats)."""
    u = (float(x) + 1.0) * TWO_POW_M64
    return U01_MAX if u == 1.0 else u


# --------------------------------------------------------------------------- keying


def _uer(text: str) -> bytes:
    data = text.encode("utf-8")
    return len(data).to_bytes(4, "little") + data


def master_material(manifest_fingerprint: str, seed: int) -> bytes:
    """M = SHA256(UER("mlr:3A.master") || FP || LE64(seed)) of §1.2."""
    check_hex64(manifest_fingerprint, "manifest_fingerprint")
    seed = int(seed)
    if not 0 <= seed < 1 << 64:
        raise ValueError(f"seed must be a uint64, got {seed}")
    fingerprint = bytes.fromhex(manifest_fingerprint)
    return hashlib.sha256(_uer(_MASTER_TAG) + fingerprint + seed.to_bytes(8, "little")).digest()


def rng_stream_id(merchant_id: int, country_iso: str) -> str:
    """hex(SHA256("3A.S3|zone_dirichlet|" + dec(m) + "|" + c)) of §1.3."""
    return str(_stream_ids_for_keys(pair_keys([merchant_id], [country_iso]))[0])


def rng_stream_ids(merchant_ids, country_isos) -> np.ndarray:
    """`rng_stream_id` for every (merchant_id, country_iso); a '<U64' array."""
    return _stream_ids_for_keys(pair_keys(merchant_ids, country_isos))


def _stream_ids_for_keys(keys: list[str]) -> np.ndarray:
    sha = hashlib.sha256
    return np.array([sha(f"{_STREAM_ID_PREFIX}{key}".encode("utf-8")).hexdigest() for key in keys], dtype="<U64")


def substream_keys(master: bytes, stream_ids) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, hi0, lo0) uint64 arrays for each rng_stream_id (§1.3).

    k = LE64(H[24:32]), hi0 = BE64(H[16:24]), lo0 = BE64(H[24:32]): the same
    eight bytes feed k and lo0 in opposite byte orders.
    """
    if len(master) != 32:
        raise ValueError("master material must be 32 bytes")
    prefix = hashlib.sha256(master + _uer(_SUBSTREAM_TAG) + _uer(_SUBSTREAM_LABEL))
    digests = []
    for sid in stream_ids:
        h = prefix.copy()
        h.update(_uer(sid))
        digests.append(h.digest())
    raw = b"".join(digests)
    little = np.frombuffer(raw, dtype="<u8").reshape(-1, 4)
    big = np.frombuffer(raw, dtype=">u8").reshape(-1, 4)
    key = little[:, 3].astype(np.uint64)
    hi0 = big[:, 2].astype(np.uint64)
    lo0 = big[:, 3].astype(np.uint64)
    return key, hi0, lo0


def derive_substream(manifest_fingerprint: str, seed: int, merchant_id: int, country_iso: str) -> tuple[int, int, int]:
    """Scalar (k, hi0, lo0) of the zone_dirichlet substream of pair (m, c)."""
    master = master_material(manifest_fingerprint, seed)
    key, hi0, lo0 = substream_keys(master, [rng_stream_id(merchant_id, country_iso)])
    return int(key[0]), int(hi0[0]), int(lo0[0])


# --------------------------------------------------------------------------- lane policy and normal


def single(key, ctr_hi, ctr_lo) -> np.ndarray:
    """`single()` of §1.6 for one block per stream: u01 of the low lane x0 (x1 is discarded)."""
    x0, _ = philox2x64_10(key, ctr_hi, ctr_lo)
    return u01(x0)


def pair(key, ctr_hi, ctr_lo) -> tuple[np.ndarray, np.ndarray]:
    """`pair()` of §1.6 for one block per stream: (u01(x0), u01(x1))."""
    x0, x1 = philox2x64_10(key, ctr_hi, ctr_lo)
    return u01(x0), u01(x1)


def box_muller(u1, u2, ln_u1=None) -> np.ndarray:
    """z = sqrt(-2 ln u1) * cos(TAU * u2), the cosine branch only (§1.7)."""
    if ln_u1 is None:
        ln_u1 = _libm.vlog(u1)
    r = np.sqrt(-2.0 * ln_u1)
    theta = TAU * np.asarray(u2, dtype=np.float64)
    return r * _libm.vcos(theta)


def normal(key, ctr_hi, ctr_lo) -> np.ndarray:
    """`normal()` of §1.7 for one block per stream (1 block, 2 draws each)."""
    u1, u2 = pair(key, ctr_hi, ctr_lo)
    return box_muller(u1, u2)


# --------------------------------------------------------------------------- gamma engine


def _draw_components(key, base_hi, base_lo, alpha: np.ndarray, offsets: np.ndarray):
    """Gamma(alpha_i) for every component, components of a stream drawn in order.

    Streams are rows of the ragged `alpha` (row r = alpha[offsets[r]:offsets[r+1]]);
    each row's components consume its substream sequentially from its base counter,
    in the C helper (`_libm.gamma_rows`, the §1.8 loop as written, one stream after
    another). Returns (gamma values, blocks per row, draws per row).
    """
    values, blocks, attempts = _libm.gamma_rows(key, base_hi, base_lo, alpha, offsets)
    # Each attempt draws one normal, so draws = blocks + normals (§1.10).
    return values, blocks, blocks + attempts


@dataclass(frozen=True)
class GammaBatch:
    values: np.ndarray  # float64, one Gamma(alpha, 1) variate per stream
    blocks: np.ndarray  # uint64 Philox blocks consumed per stream
    draws: np.ndarray   # uint64 uniforms consumed per stream


def gamma_batch(key, ctr_hi, ctr_lo, alpha) -> GammaBatch:
    """One Gamma(alpha_i, 1) draw per stream i (key_i, counter_i), per §1.8."""
    key = _u64_array(key, "key")
    hi = _u64_array(ctr_hi, "ctr_hi")
    lo = _u64_array(ctr_lo, "ctr_lo")
    alpha = _positive_alphas(alpha)
    if not key.size == hi.size == lo.size == alpha.size:
        raise ValueError("key, ctr_hi, ctr_lo and alpha must have one length")
    offsets = np.arange(alpha.size + 1, dtype=np.int64)
    values, blocks, draws = _draw_components(key, hi, lo, alpha, offsets)
    return GammaBatch(values=values, blocks=blocks, draws=draws)


class Stream:
    """One substream consumed sequentially: the lane policy of §1.6 with accounting.

    A scalar convenience over the batch functions (for tests and diagnostics).
    """

    def __init__(self, key: int, ctr_hi: int, ctr_lo: int):
        self.key = int(key)
        self.before = (int(ctr_hi), int(ctr_lo))
        self.blocks = 0
        self.draws = 0

    @property
    def counter(self) -> tuple[int, int]:
        hi, lo = u128_add([self.before[0]], [self.before[1]], self.blocks)
        return int(hi[0]), int(lo[0])

    def _next_block(self) -> tuple[int, int]:
        hi, lo = self.counter
        self.blocks += 1
        return philox_block(self.key, hi, lo)

    def single(self) -> float:
        x0, _ = self._next_block()
        self.draws += 1
        return u01_scalar(x0)

    def pair(self) -> tuple[float, float]:
        x0, x1 = self._next_block()
        self.draws += 2
        return u01_scalar(x0), u01_scalar(x1)

    def normal(self) -> float:
        u1, u2 = self.pair()
        return float(box_muller([u1], [u2])[0])

    def gamma(self, alpha: float) -> float:
        hi, lo = self.counter
        result = gamma_batch([self.key], [hi], [lo], [alpha])
        self.blocks += int(result.blocks[0])
        self.draws += int(result.draws[0])
        return float(result.values[0])


# --------------------------------------------------------------------------- dispersion (§3.3)


@dataclass(frozen=True)
class Dispersion:
    """The `s3_dispersion` knobs of `zone_mixture_policy` (§3.2); defaults = block absent."""

    enabled: bool = False
    concentration_scale: float = 1.0
    alpha_temperature: float = 1.0
    merchant_jitter: float = 0.0
    merchant_jitter_clip: float = 0.0
    alpha_floor: float = 1e-6

    @classmethod
    def from_mapping(cls, block: Mapping | None) -> "Dispersion":
        """From the policy's `s3_dispersion` mapping (None = block absent). Range checks are the policy loader's."""
        if block is None:
            return cls()
        if not isinstance(block["enabled"], bool):
            raise ValueError(f"s3_dispersion.enabled must be a boolean, got {block['enabled']!r}")
        return cls(
            enabled=block["enabled"],
            concentration_scale=float(block["concentration_scale"]),
            alpha_temperature=float(block["alpha_temperature"]),
            merchant_jitter=float(block["merchant_jitter"]),
            merchant_jitter_clip=float(block["merchant_jitter_clip"]),
            alpha_floor=float(block["alpha_floor"]),
        )


def _per_item(per_row: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    return np.repeat(per_row, lengths)


def _require_positive_sums(values: np.ndarray, what: str) -> None:
    bad = ~(np.isfinite(values) & (values > 0.0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise RngError(E_NUMERIC, f"s3_dispersion: {what} is non-finite or <= 0", pair_index=row,
                       value=float(values[row]), failing_pairs=int(bad.sum()))


def _normalised_shares(alpha, lengths, total, temperature):
    """Steps 1-2: p = alpha / A, optionally tempered and renormalised."""
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    p = alpha / _per_item(total, lengths)
    if abs(temperature - 1.0) > 1e-12:
        w = _libm.vpow(np.maximum(p, 1e-15), temperature)
        w_sum = csum_ragged(w, offsets)
        _require_positive_sums(w_sum, "W")
        p = w / _per_item(w_sum, lengths)
    return p


def dispersion_jitter_scale(policy: Dispersion, u_h, zone_count, alpha_sum) -> tuple[np.ndarray, np.ndarray]:
    """Steps 4-5 of §3.3 per pair: (clipped jitter j, floor-aware concentration scale s)."""
    u_h = np.asarray(u_h, dtype=np.float64)
    clip = policy.merchant_jitter_clip
    j = (2.0 * u_h - 1.0) * policy.merchant_jitter
    j = np.where(j > clip, clip, j)
    j = np.where(j < -clip, -clip, j)
    floor_share = (policy.alpha_floor * np.asarray(zone_count, dtype=np.float64)) / np.asarray(alpha_sum, dtype=np.float64)
    s = np.maximum(policy.concentration_scale * (1.0 + j), floor_share)
    return j, s


def _floor_and_rescale(f, floor, tau, lengths, offsets, what):
    """Steps 7-8: f = max(f, floor); f = f * (tau / csum(f))."""
    f = np.maximum(f, floor)
    f_sum = csum_ragged(f, offsets)
    _require_positive_sums(f_sum, what)
    rho = tau / f_sum
    return f * _per_item(rho, lengths)


def effective_alphas(alpha_values, alpha_offsets, merchant_ids=None, country_isos=None,
                     dispersion: Dispersion | Mapping | None = None,
                     parameter_hash: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(alpha_eff ragged like the input, A_eff per pair) of §3.3.

    Pair r's S2 shapes are alpha_values[alpha_offsets[r]:alpha_offsets[r+1]] in
    ascending tzid order.  merchant ids, countries and parameter_hash are needed
    only when dispersion is enabled (for the jitter hash-uniform).
    """
    alpha = _positive_alphas(alpha_values)
    offsets, lengths = _checked_offsets(alpha_offsets, alpha.size)
    policy = _as_policy(dispersion)
    keys = None
    if policy.enabled:
        if merchant_ids is None or country_isos is None:
            raise ValueError("enabled s3_dispersion needs merchant_ids and country_isos")
        keys = pair_keys(merchant_ids, country_isos)
    return _effective_alphas(alpha, offsets, lengths, policy, keys, parameter_hash)


def _as_policy(dispersion: Dispersion | Mapping | None) -> Dispersion:
    return dispersion if isinstance(dispersion, Dispersion) else Dispersion.from_mapping(dispersion)


def _effective_alphas(alpha, offsets, lengths, policy: Dispersion, keys: list[str] | None, parameter_hash):
    """§3.3 on validated inputs; `keys` are the pairs' `dec(m)|c` strings (needed when enabled)."""
    total = csum_ragged(alpha, offsets)
    if not policy.enabled:
        return alpha.copy(), total
    if parameter_hash is None:
        raise ValueError("enabled s3_dispersion needs parameter_hash (for the jitter hash-uniform)")
    if keys is None or len(keys) != lengths.size:
        raise ValueError("enabled s3_dispersion needs one (merchant_id, country_iso) per pair")
    with np.errstate(all="ignore"):
        _require_positive_sums(total, "A")
        p = _normalised_shares(alpha, lengths, total, policy.alpha_temperature)
        u_h = uniform_from_u64(hash_prefix_u64_keys(LABEL_S3_DISPERSION, keys, parameter_hash))
        _, scale = dispersion_jitter_scale(policy, u_h, lengths, total)
        tau = total * scale
        _require_positive_sums(tau, "tau")
        f = _floor_and_rescale(p * _per_item(tau, lengths), policy.alpha_floor, tau, lengths, offsets, "step-7 sum")
        f = _floor_and_rescale(f, policy.alpha_floor, tau, lengths, offsets, "step-8 sum")
        f_total = csum_ragged(f, offsets)
        _require_positive_sums(f_total, "F")
        off = np.abs(f_total - tau) > 1e-9
        if off.any():
            rho = tau / f_total
            f = np.where(_per_item(off, lengths), f * _per_item(rho, lengths), f)
            f_total = np.where(off, csum_ragged(f, offsets), f_total)
            _require_positive_sums(f_total, "F")
        drift = np.abs(f_total - tau) > 1e-7
    if drift.any():
        row = int(np.flatnonzero(drift)[0])
        raise RngError(E_NUMERIC, "s3_dispersion: effective alpha sum misses its target by > 1e-7",
                       pair_index=row, target=float(tau[row]), observed=float(f_total[row]))
    bad = ~(np.isfinite(f) & (f > 0.0))
    if bad.any():
        item = int(np.flatnonzero(bad)[0])
        raise RngError(E_ALPHA, "effective alpha is non-finite or <= 0", reason="alpha_values_mismatch",
                       pair_index=int(np.searchsorted(offsets, item, side="right") - 1), value=float(f[item]))
    return f, f_total


# --------------------------------------------------------------------------- Dirichlet (§1.9)


def _positive_alphas(values) -> np.ndarray:
    alpha = np.ascontiguousarray(values, dtype=np.float64)
    if alpha.ndim != 1:
        raise ValueError("alpha values must be one-dimensional")
    bad = ~(np.isfinite(alpha) & (alpha > 0.0))
    if bad.any():
        item = int(np.flatnonzero(bad)[0])
        raise RngError(E_ALPHA, "alpha must be finite and > 0", reason="alpha_values_mismatch",
                       item_index=item, value=float(alpha[item]))
    return alpha


def _checked_offsets(alpha_offsets, n_values: int) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.ascontiguousarray(alpha_offsets, dtype=np.int64)
    lengths = ragged_lengths(offsets)
    if offsets[0] != 0 or offsets[-1] != n_values:
        raise ValueError("alpha_offsets must start at 0 and end at len(alpha_values)")
    if lengths.size and lengths.min() < 1:
        row = int(np.argmin(lengths))
        raise RngError(E_DOMAIN_S2, "a pair has no zones (K < 1)", pair_index=row)
    return offsets, lengths


@dataclass(frozen=True)
class DirichletBatch:
    """Per-pair results of `dirichlet_batch`; ragged fields share `offsets`."""

    rng_stream_id: np.ndarray        # '<U64' (n,)
    key: np.ndarray                  # uint64 (n,) Philox key k
    counter_before_hi: np.ndarray    # uint64 (n,) = hi0
    counter_before_lo: np.ndarray    # uint64 (n,) = lo0
    counter_after_hi: np.ndarray     # uint64 (n,)
    counter_after_lo: np.ndarray     # uint64 (n,)
    blocks: np.ndarray               # uint64 (n,)
    draws: np.ndarray                # uint64 (n,); events carry it as a decimal string
    zone_count: np.ndarray           # int64 (n,) K
    alpha_sum: np.ndarray            # float64 (n,) A_eff
    alpha_min: np.ndarray            # float64 (n,)
    alpha_max: np.ndarray            # float64 (n,)
    gamma_sum: np.ndarray            # float64 (n,) S = csum(G)
    share_sum: np.ndarray            # float64 (n,) csum(shares)
    offsets: np.ndarray              # int64 (n + 1,)
    alpha_eff: np.ndarray            # float64 ragged
    gammas: np.ndarray               # float64 ragged G_i
    shares: np.ndarray               # float64 ragged share_i = G_i / S

    def draws_decimal(self) -> list[str]:
        """`draws` as the decimal strings the event rows carry."""
        return [str(d) for d in self.draws.tolist()]


def dirichlet_batch(manifest_fingerprint: str, seed: int, merchant_ids, country_isos,
                    alpha_values, alpha_offsets, dispersion: Dispersion | Mapping | None = None,
                    parameter_hash: str | None = None) -> DirichletBatch:
    """Zone-share Dirichlet draws for a batch of escalated pairs (§1.2-§1.10, §3.3).

    Pair r = (merchant_ids[r], country_isos[r]) has its S2 shapes at
    alpha_values[alpha_offsets[r]:alpha_offsets[r+1]], in ascending tzid order
    (the order components are drawn).  Pairs may come in any order: each owns
    its substream, so results do not depend on the batch composition.
    """
    master = master_material(manifest_fingerprint, seed)
    keys = pair_keys(merchant_ids, country_isos)
    alpha = _positive_alphas(alpha_values)
    offsets, lengths = _checked_offsets(alpha_offsets, alpha.size)
    if lengths.size != len(keys):
        raise ValueError("alpha_offsets must describe one row per pair")
    alpha_eff, alpha_sum = _effective_alphas(alpha, offsets, lengths, _as_policy(dispersion), keys, parameter_hash)
    stream_ids = _stream_ids_for_keys(keys)
    key, hi0, lo0 = substream_keys(master, stream_ids.tolist())
    gammas, blocks, draws = _draw_components(key, hi0, lo0, alpha_eff, offsets)
    after_hi, after_lo = u128_add(hi0, lo0, blocks)
    _check_no_wrap(hi0, lo0, after_hi, after_lo)
    with np.errstate(all="ignore"):
        gamma_sum = csum_ragged(gammas, offsets)
        shares = gammas / _per_item(gamma_sum, lengths)
        share_sum = csum_ragged(shares, offsets)
    starts = offsets[:-1]
    return DirichletBatch(
        rng_stream_id=stream_ids, key=key,
        counter_before_hi=hi0, counter_before_lo=lo0,
        counter_after_hi=after_hi, counter_after_lo=after_lo,
        blocks=blocks, draws=draws, zone_count=lengths,
        alpha_sum=alpha_sum,
        alpha_min=np.minimum.reduceat(alpha_eff, starts) if starts.size else np.empty(0),
        alpha_max=np.maximum.reduceat(alpha_eff, starts) if starts.size else np.empty(0),
        gamma_sum=gamma_sum, share_sum=share_sum, offsets=offsets,
        alpha_eff=alpha_eff, gammas=gammas, shares=shares,
    )


def _check_no_wrap(hi0, lo0, hi1, lo1) -> None:
    wrapped = (hi1 < hi0) | ((hi1 == hi0) & (lo1 < lo0))
    if wrapped.any():
        row = int(np.flatnonzero(wrapped)[0])
        raise RngError(E_NUMERIC, "u128 counter wrapped (after < before)", pair_index=row)
