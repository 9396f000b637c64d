/*
 * Array wrappers around the C library's scalar log, cos and pow.
 *
 * Spec 03 requires the binary64 results of the C library functions (what
 * CPython's math.log/cos/pow return).  NumPy's SIMD kernels for log and power
 * differ from libm in the last bit for a small share of inputs, which flips
 * Marsaglia-Tsang acceptances, so the samplers call these loops instead.
 *
 * Build flags must keep the calls scalar and un-contracted:
 *   -O2 -fno-fast-math -ffp-contract=off -fPIC -shared -lm
 * (without -ffast-math GCC does not substitute libmvec vector variants, and a
 * runtime exponent keeps pow from being rewritten as multiplications).
 */
#include <math.h>
#include <stddef.h>

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
