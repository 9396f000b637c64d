"""Cross-check of the vectorised S3 sampler against a scalar reference written here.

The reference below is an independent, deliberately plain transcription of
spec 03 §0, §1 and §3.3 (Python ints, `math`, `hashlib`), sharing no code with
`python_udfs`.  The batch implementation must reproduce it bit-for-bit on
thousands of random pairs: every share, gamma, effective alpha, counter,
`blocks` and `draws`.
"""
from __future__ import annotations

import hashlib
import math
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import python_udfs.rng as rng_module
from python_udfs import _libm, _libm_build
from python_udfs.rng import Dispersion, dirichlet_batch

# ----------------------------------------------------------------- scalar reference

MASK64 = (1 << 64) - 1
REF_TAU = float.fromhex("0x1.921fb54442d18p+2")
REF_U_MAX = float.fromhex("0x1.fffffffffffffp-1")


def ref_csum(xs):
    xs = list(xs)
    if not xs:
        return 0.0
    s, c = xs[0], 0.0
    for x in xs[1:]:
        t = s + x
        if abs(s) >= abs(x):
            c = c + ((s - t) + x)
        else:
            c = c + ((x - t) + s)
        s = t
    return s + c if (c != 0.0 and math.isfinite(c)) else s


def ref_philox(key, hi, lo):
    a, b = lo, hi
    for _ in range(10):
        product = 0xD2B74407B1CE6E93 * a
        a, b = (product >> 64) ^ key ^ b, product & MASK64
        key = (key + 0x9E3779B97F4A7C15) & MASK64
    return a, b


def ref_u01(x):
    u = (float(x) + 1.0) * 2.0**-64
    return REF_U_MAX if u == 1.0 else u


class RefStream:
    def __init__(self, key, hi, lo):
        self.key, self.start = key, (hi << 64) | lo
        self.blocks = self.draws = 0

    def _block(self):
        counter = (self.start + self.blocks) % (1 << 128)
        self.blocks += 1
        return ref_philox(self.key, counter >> 64, counter & MASK64)

    def single(self):
        self.draws += 1
        return ref_u01(self._block()[0])

    def pair(self):
        x0, x1 = self._block()
        self.draws += 2
        return ref_u01(x0), ref_u01(x1)

    def normal(self):
        u1, u2 = self.pair()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(REF_TAU * u2)

    def gamma_at_least_one(self, alpha):
        d = alpha - (1.0 / 3.0)
        c = 1.0 / math.sqrt(9.0 * d)
        while True:
            z = self.normal()
            v = math.pow(1.0 + c * z, 3.0)
            if v <= 0:
                continue
            u = self.single()
            if math.log(u) < ((((0.5 * z) * z) + d) - d * v) + d * math.log(v):
                return d * v

    def gamma(self, alpha):
        if alpha >= 1.0:
            return self.gamma_at_least_one(alpha)
        while True:
            g = self.gamma_at_least_one(alpha + 1.0)
            u = self.single()
            x = g * math.pow(u, 1.0 / alpha)
            if math.isfinite(x) and x > 0:
                return x


def uer(text):
    data = text.encode()
    return len(data).to_bytes(4, "little") + data


def ref_substream(fingerprint, seed, merchant, country):
    master = hashlib.sha256(uer("mlr:3A.master") + bytes.fromhex(fingerprint) + seed.to_bytes(8, "little")).digest()
    sid = hashlib.sha256(f"3A.S3|zone_dirichlet|{merchant}|{country}".encode()).hexdigest()
    h = hashlib.sha256(master + uer("mlr:3A.zone_dirichlet") + uer("zone_dirichlet") + uer(sid)).digest()
    return sid, int.from_bytes(h[24:32], "little"), int.from_bytes(h[16:24], "big"), int.from_bytes(h[24:32], "big")


def ref_effective(alpha, merchant, country, parameter_hash, policy):
    total = ref_csum(alpha)
    if policy is None or not policy["enabled"]:
        return list(alpha), total
    k = len(alpha)
    p = [a / total for a in alpha]
    if abs(policy["alpha_temperature"] - 1.0) > 1e-12:
        w = [math.pow(max(x, 1e-15), policy["alpha_temperature"]) for x in p]
        w_total = ref_csum(w)
        p = [x / w_total for x in w]
    digest = hashlib.sha256(f"3A.S3.dispersion|{merchant}|{country}|{parameter_hash}".encode()).digest()
    u_h = (float(int.from_bytes(digest[:8], "big")) + 0.5) / 18446744073709551616.0
    clip = policy["merchant_jitter_clip"]
    j = (2.0 * u_h - 1.0) * policy["merchant_jitter"]
    j = clip if j > clip else (-clip if j < -clip else j)
    floor = policy["alpha_floor"]
    s = max(policy["concentration_scale"] * (1.0 + j), (floor * k) / total)
    tau = total * s
    f = [max(x * tau, floor) for x in p]
    rho = tau / ref_csum(f)
    f = [x * rho for x in f]
    f = [max(x, floor) for x in f]
    rho = tau / ref_csum(f)
    f = [x * rho for x in f]
    big_f = ref_csum(f)
    if abs(big_f - tau) > 1e-9:
        rho = tau / big_f
        f = [x * rho for x in f]
        big_f = ref_csum(f)
    assert abs(big_f - tau) <= 1e-7
    return f, big_f


def ref_pair(fingerprint, seed, merchant, country, alpha, parameter_hash, policy):
    sid, key, hi0, lo0 = ref_substream(fingerprint, seed, merchant, country)
    alpha_eff, alpha_sum = ref_effective(alpha, merchant, country, parameter_hash, policy)
    stream = RefStream(key, hi0, lo0)
    gammas = [stream.gamma(a) for a in alpha_eff]
    total = ref_csum(gammas)
    shares = [g / total for g in gammas]
    after = ((hi0 << 64) | lo0) + stream.blocks
    return {
        "sid": sid, "hi0": hi0, "lo0": lo0, "after_hi": after >> 64, "after_lo": after & MASK64,
        "blocks": stream.blocks, "draws": stream.draws, "alpha_eff": alpha_eff, "alpha_sum": alpha_sum,
        "gammas": gammas, "gamma_sum": total, "shares": shares, "share_sum": ref_csum(shares),
    }


# ----------------------------------------------------------------- random cases

FINGERPRINT = "9a1f" * 16
PARAMETER_HASH = "3c5e" * 16
COUNTRIES = ["AU", "BR", "CA", "DE", "FR", "MX", "RU", "US"]

POLICIES = {
    "disabled": None,
    "published": {"enabled": True, "concentration_scale": 0.65, "alpha_temperature": 1.0,
                  "merchant_jitter": 0.0, "merchant_jitter_clip": 0.0, "alpha_floor": 1e-6},
    "tempered_jitter": {"enabled": True, "concentration_scale": 1.3, "alpha_temperature": 0.6,
                        "merchant_jitter": 0.45, "merchant_jitter_clip": 0.3, "alpha_floor": 1e-4},
    "heavy_floor": {"enabled": True, "concentration_scale": 0.25, "alpha_temperature": 1.45,
                    "merchant_jitter": 0.2, "merchant_jitter_clip": 0.5, "alpha_floor": 0.01},
}


def random_alpha(rnd):
    # Log-uniform over [1e-3, 50], with a rare excursion down to 1e-7: the boost
    # path then needs ~1/(744 alpha) attempts, which the reference pays for.
    if rnd.random() < 0.002:
        return math.exp(rnd.uniform(math.log(1e-7), math.log(1e-3)))
    return math.exp(rnd.uniform(math.log(1e-3), math.log(50.0)))


def random_cases(n_pairs, rnd):
    merchants, countries, alphas, offsets = [], [], [], [0]
    for _ in range(n_pairs):
        merchants.append(rnd.choice([rnd.randrange(1, 10**6), rnd.randrange(1, 1 << 64)]))
        countries.append(rnd.choice(COUNTRIES))
        k = rnd.randint(1, 12)
        alphas.extend(random_alpha(rnd) for _ in range(k))
        offsets.append(len(alphas))
    return merchants, countries, alphas, offsets


def assert_batch_matches_reference(seed, merchants, countries, alphas, offsets, policy):
    batch = dirichlet_batch(FINGERPRINT, seed, np.array(merchants, dtype=np.uint64), countries,
                            np.array(alphas), np.array(offsets),
                            Dispersion.from_mapping(policy), PARAMETER_HASH)
    for r, (m, c) in enumerate(zip(merchants, countries)):
        ref = ref_pair(FINGERPRINT, seed, m, c, alphas[offsets[r]:offsets[r + 1]], PARAMETER_HASH, policy)
        items = slice(offsets[r], offsets[r + 1])
        got = {
            "sid": str(batch.rng_stream_id[r]),
            "hi0": int(batch.counter_before_hi[r]), "lo0": int(batch.counter_before_lo[r]),
            "after_hi": int(batch.counter_after_hi[r]), "after_lo": int(batch.counter_after_lo[r]),
            "blocks": int(batch.blocks[r]), "draws": int(batch.draws[r]),
            "alpha_eff": batch.alpha_eff[items].tolist(), "alpha_sum": float(batch.alpha_sum[r]),
            "gammas": batch.gammas[items].tolist(), "gamma_sum": float(batch.gamma_sum[r]),
            "shares": batch.shares[items].tolist(), "share_sum": float(batch.share_sum[r]),
        }
        # Floats compare with ==, i.e. bit-for-bit (no NaNs occur here).
        assert got == ref, f"pair {r} (merchant {m}, {c}) differs from the reference"
        assert float(batch.alpha_min[r]) == min(ref["alpha_eff"])
        assert float(batch.alpha_max[r]) == max(ref["alpha_eff"])
        assert batch.draws_decimal()[r] == str(ref["draws"])


@pytest.mark.parametrize(
    ("policy_name", "n_pairs", "case_seed"),
    [("disabled", 1500, 11), ("published", 600, 12), ("tempered_jitter", 600, 13), ("heavy_floor", 400, 14)],
)
def test_batch_equals_scalar_reference(policy_name, n_pairs, case_seed):
    rnd = random.Random(case_seed)
    merchants, countries, alphas, offsets = random_cases(n_pairs, rnd)
    assert_batch_matches_reference(case_seed * 1000 + 7, merchants, countries, alphas, offsets, POLICIES[policy_name])


def test_extreme_shapes_equal_reference():
    # One pair per extreme: the tiniest alpha (~13,000 boost attempts), exactly
    # 1.0 (alpha >= 1 branch), just below 1.0 (boost), large shapes, K = 1.
    merchants = [1, 2, 3, 18446744073709551615, 5]
    countries = ["US", "DE", "FR", "BR", "CA"]
    rows = [[1e-7, 2.0], [1.0, 1.0, 1.0], [math.nextafter(1.0, 0.0), 0.5], [50.0, 49.9, 0.001], [3.7]]
    alphas = [a for row in rows for a in row]
    offsets = [0]
    for row in rows:
        offsets.append(offsets[-1] + len(row))
    assert_batch_matches_reference(42, merchants, countries, alphas, offsets, None)
    assert_batch_matches_reference(43, merchants, countries, alphas, offsets, POLICIES["published"])


def test_result_independent_of_batch_composition():
    rnd = random.Random(5)
    merchants, countries, alphas, offsets = random_cases(60, rnd)
    whole = dirichlet_batch(FINGERPRINT, 9, np.array(merchants, dtype=np.uint64), countries,
                            np.array(alphas), np.array(offsets))
    r = 17
    alone = dirichlet_batch(FINGERPRINT, 9, np.array([merchants[r]], dtype=np.uint64), [countries[r]],
                            np.array(alphas[offsets[r]:offsets[r + 1]]), np.array([0, offsets[r + 1] - offsets[r]]))
    assert alone.shares.tolist() == whole.shares[offsets[r]:offsets[r + 1]].tolist()
    assert int(alone.blocks[0]) == int(whole.blocks[r])


def test_libm_wrappers_equal_math_module():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.random(20000), rng.uniform(0.0, 60.0, 20000), rng.uniform(-3.0, 3.0, 5000)])
    positive = x[x > 0]
    assert _libm.vlog(positive).tolist() == [math.log(v) for v in positive.tolist()]
    assert _libm.vcos(x).tolist() == [math.cos(v) for v in x.tolist()]
    assert _libm.vpow(x, 3.0).tolist() == [math.pow(v, 3.0) for v in x.tolist()]
    exps = rng.uniform(0.5, 1e4, positive.size)
    u = positive / (positive.max() + 1.0)
    assert _libm.vpow(u, exps).tolist() == [math.pow(a, b) for a, b in zip(u.tolist(), exps.tolist())]


@pytest.mark.parametrize(("hi", "lo"), [
    (7, MASK64 - 2),          # the low counter word carries into the high word mid-stream
    (MASK64, MASK64 - 1),     # the whole u128 counter wraps to zero mid-stream
])
def test_gamma_engine_counters_carry_like_the_reference(hi, lo):
    # The C engine adds the blocks consumed to the base counter as a u128: every
    # component after the carry must read the blocks the reference reads.
    alphas = [0.3, 2.5, 1e-3, 7.0, 0.9]
    key = 0x0123456789ABCDEF
    batch = rng_module.gamma_batch([key] * len(alphas), [hi] * len(alphas), [lo] * len(alphas), alphas)
    stream = RefStream(key, hi, lo)
    values = [stream.gamma(a) for a in alphas]
    # One stream per alpha here (gamma_batch), so compare each with a fresh reference stream.
    for i, alpha in enumerate(alphas):
        ref = RefStream(key, hi, lo)
        assert float(batch.values[i]) == ref.gamma(alpha)
        assert (int(batch.blocks[i]), int(batch.draws[i])) == (ref.blocks, ref.draws)
    # And all of them in one stream, in order, through the Dirichlet row path.
    drawn, blocks, draws = rng_module._draw_components(
        np.array([key], dtype=np.uint64), np.array([hi], dtype=np.uint64), np.array([lo], dtype=np.uint64),
        np.array(alphas), np.array([0, len(alphas)]))
    assert drawn.tolist() == values
    assert (int(blocks[0]), int(draws[0])) == (stream.blocks, stream.draws)
    assert stream.blocks > 2  # the chain really crossed the carry


def test_large_batch_crosses_row_chunks():
    # More pairs than one engine chunk: check a sample of pairs on both sides of
    # the chunk boundaries against the reference.
    rnd = random.Random(21)
    n = 20_000
    merchants = rnd.sample(range(1, 10**9), n)
    countries = [rnd.choice(COUNTRIES) for _ in range(n)]
    lengths = [rnd.randint(1, 6) for _ in range(n)]
    alphas = [math.exp(rnd.uniform(math.log(0.01), math.log(30.0))) for _ in range(sum(lengths))]
    offsets = [0]
    for k in lengths:
        offsets.append(offsets[-1] + k)
    batch = dirichlet_batch(FINGERPRINT, 3, np.array(merchants, dtype=np.uint64), countries,
                            np.array(alphas), np.array(offsets), None, PARAMETER_HASH)
    for r in [0, 1, 8191, 8192, 8193, 16383, 16384, n - 1] + rnd.sample(range(n), 40):
        ref = ref_pair(FINGERPRINT, 3, merchants[r], countries[r], alphas[offsets[r]:offsets[r + 1]],
                       PARAMETER_HASH, None)
        assert batch.shares[offsets[r]:offsets[r + 1]].tolist() == ref["shares"]
        assert (int(batch.blocks[r]), int(batch.draws[r])) == (ref["blocks"], ref["draws"])


LOADER_SNIPPET = "import python_udfs._libm as m; print(m.library_path())"


def test_the_installed_helper_is_the_build_of_this_source():
    """The package install compiled it beside the module, under its content name."""
    assert Path(_libm.library_path()) == Path(_libm.__file__).with_name(_libm_build.library_name())


def test_the_helper_compiles_atomically_into_its_content_name(tmp_path):
    built = _libm_build.compile_library(tmp_path)
    assert built == tmp_path / _libm_build.library_name() and built.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [built.name]  # the temporary file was renamed


def test_a_missing_compiler_fails_the_build_with_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("CC", "/nonexistent/cc")
    with pytest.raises(_libm_build.LibmBuildError, match="no C compiler found.*install cc/gcc"):
        _libm_build.compile_library(tmp_path)
    assert not list(tmp_path.iterdir())


def test_importing_never_compiles(tmp_path):
    """A copy of the package without the built helper fails at import with the fix,
    even with a compiler at hand."""
    package = tmp_path / "python_udfs"
    package.mkdir()
    for name in ("__init__.py", "_libm.py", "_libm_build.py", "_libm_vec.c"):
        shutil.copyfile(Path(_libm.__file__).with_name(name), package / name)
    proc = subprocess.run([sys.executable, "-c", LOADER_SNIPPET], capture_output=True, text=True,
                          cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(tmp_path)), check=False)
    assert proc.returncode != 0
    assert "LibmBuildError" in proc.stderr and "is not built for this source" in proc.stderr and "make venv" in proc.stderr
    assert not list(package.glob("*.so"))
