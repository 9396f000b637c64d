/*
 * The samplers' C helper: array wrappers around the C library's scalar log, cos
 * and pow, and the gamma engine of spec 03 sections 1.4-1.8 (Philox2x64-10
 * substreams, u01, Box-Muller, Marsaglia-Tsang with the alpha < 1 boost).
 *
 * Spec 03 requires the binary64 results of the C library functions (what
 * CPython's math.log/cos/pow return).  NumPy's SIMD kernels for log and power
 * differ from libm in the last bit for a small share of inputs, which flips
 * Marsaglia-Tsang acceptances, so the samplers call these loops instead.
 *
 * Build flags must keep the calls scalar and un-contracted:
 *   -O2 -fno-fast-math -ffp-contract=off -fPIC -shared -lm
 * (without -ffast-math GCC does not substitute libmvec vector variants, and a
 * runtime exponent keeps pow from being rewritten as multiplications; without
 * contraction every + - * / sqrt is one IEEE binary64 operation, as in NumPy).
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

void seg3a_vlog(const double *x, double *out, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        out[i] = log(x[i]);
    }
}

void seg3a_vcos(const double *x, double *out, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        out[i] = cos(x[i]);
    }
}

/* Elementwise pow(x[i], y[i]). */
void seg3a_vpow(const double *x, const double *y, double *out, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        out[i] = pow(x[i], y[i]);
    }
}

/* pow(x[i], y) with one exponent for the whole array (e.g. the 3.0 of the
 * Marsaglia-Tsang cube, which must stay a library pow call). */
void seg3a_vpow_scalar(const double *x, double y, double *out, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        out[i] = pow(x[i], y);
    }
}

/* ------------------------------------------------------------------ gamma engine
 *
 * One stream per row: row r draws Gamma(alpha[i], 1) for its components
 * i = offsets[r] .. offsets[r+1]-1, in order, consuming Philox blocks of its
 * substream (key[r], counter (hi0[r], lo0[r]) + blocks consumed) sequentially,
 * exactly as the scalar algorithm of 03 1.8-1.9 reads: one attempt draws a
 * normal from one block (pair: x0 and x1 lanes), an acceptance uniform from the
 * next (single: x0 lane) when v > 0, and a boost uniform from the one after
 * (single) when an accepted component has alpha < 1.  Every expression keeps
 * the operand order the spec writes.  Outputs per row: the blocks consumed and
 * the attempts made (one normal each, so draws = blocks + attempts).
 */

#define SEG3A_PHILOX_M0 0xD2B74407B1CE6E93ULL
#define SEG3A_PHILOX_W0 0x9E3779B97F4A7C15ULL

/* Random123 philox2x64_10 with ctr[0] = lo, ctr[1] = hi: returns x0, x1. */
static void seg3a_philox(uint64_t key, uint64_t hi, uint64_t lo, uint64_t *x0, uint64_t *x1)
{
    uint64_t a = lo, b = hi;
    for (int round = 0; round < 10; ++round) {
        unsigned __int128 product = (unsigned __int128)SEG3A_PHILOX_M0 * a;
        uint64_t high = (uint64_t)(product >> 64);
        a = high ^ key ^ b;
        b = (uint64_t)product;
        key += SEG3A_PHILOX_W0;
    }
    *x0 = a;
    *x1 = b;
}

/* 03 1.5: double(x) (nearest, ties to even), + 1.0, * 2^-64; 1.0 maps to the
 * largest double below 1. */
static double seg3a_u01(uint64_t x)
{
    double u = (double)x;
    u += 1.0;
    u *= 0x1.0p-64;
    return u == 1.0 ? 0x1.fffffffffffffp-1 : u;
}

typedef struct {
    uint64_t key, hi0, lo0;
    uint64_t blocks; /* consumed so far; the next block is counter (hi0, lo0) + blocks */
} seg3a_stream;

static void seg3a_next_block(seg3a_stream *s, uint64_t *x0, uint64_t *x1)
{
    uint64_t lo = s->lo0 + s->blocks;
    uint64_t hi = s->hi0 + (lo < s->lo0); /* u128 addition, wrapping like the counter */
    s->blocks += 1;
    seg3a_philox(s->key, hi, lo, x0, x1);
}

static double seg3a_gamma_one(seg3a_stream *s, double alpha, uint64_t *attempts)
{
    const double tau = 0x1.921fb54442d18p+2;
    const double one_third = 1.0 / 3.0;
    int boost = alpha < 1.0;
    double shape = boost ? alpha + 1.0 : alpha;
    double d = shape - one_third;
    double c = 1.0 / sqrt(9.0 * d);
    double inv_alpha = 1.0 / alpha;
    uint64_t x0, x1;
    for (;;) {
        *attempts += 1;
        seg3a_next_block(s, &x0, &x1); /* pair(): the normal */
        double ln_u1 = log(seg3a_u01(x0));
        double r = sqrt(-2.0 * ln_u1);
        double theta = tau * seg3a_u01(x1);
        double z = r * cos(theta);
        double v = pow(1.0 + c * z, 3.0);
        if (!(v > 0.0)) {
            continue;
        }
        seg3a_next_block(s, &x0, &x1); /* single(): the acceptance uniform */
        double ln_u = log(seg3a_u01(x0));
        double bound = ((((0.5 * z) * z) + d) - d * v) + d * log(v);
        if (!(ln_u < bound)) {
            continue;
        }
        double value = d * v;
        if (!boost) {
            return value;
        }
        seg3a_next_block(s, &x0, &x1); /* single(): the boost uniform */
        double x = value * pow(seg3a_u01(x0), inv_alpha);
        if (isfinite(x) && x > 0.0) {
            return x;
        }
    }
}

void seg3a_gamma_rows(const uint64_t *key, const uint64_t *hi0, const uint64_t *lo0,
                      const double *alpha, const int64_t *offsets, size_t n_rows,
                      double *values, uint64_t *blocks, uint64_t *attempts)
{
    for (size_t row = 0; row < n_rows; ++row) {
        seg3a_stream stream = {key[row], hi0[row], lo0[row], 0};
        uint64_t tries = 0;
        for (int64_t i = offsets[row]; i < offsets[row + 1]; ++i) {
            values[i] = seg3a_gamma_one(&stream, alpha[i], &tries);
        }
        blocks[row] = stream.blocks;
        attempts[row] = tries;
    }
}
