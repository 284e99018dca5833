/* SPDX-License-Identifier: MIT */
/* Symmetric per-row int8 and binary16 conversions (rules in quant.h). Bit-level code, so the
 * results do not depend on the compiler's or the CPU's half-precision support. */
#include "quant.h"

#include <float.h>
#include <math.h>
#include <string.h>

int64_t tf__quantize_rows_i8(const float *x, int64_t rows, int64_t cols, int8_t *q, float *scale)
{
    int64_t bad = -1;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        int8_t *qr = q + r * cols;
        float amax = 0.0f;
        int finite = 1;
        for (int64_t j = 0; j < cols; j++) {
            float a = fabsf(xr[j]);
            if (!(a <= FLT_MAX))
                finite = 0;
            else if (a > amax)
                amax = a;
        }
        if (!finite || amax == 0.0f) {
            if (!finite && bad < 0)
                bad = r;
            scale[r] = 0.0f;
            memset(qr, 0, (size_t)cols);
            continue;
        }
        float s = amax / 127.0f;
        if (s == 0.0f) /* a row of tiny subnormals: keep it representable */
            s = FLT_TRUE_MIN;
        else if (!(s * 127.0f <= FLT_MAX)) /* near FLT_MAX: 127 * s must stay finite */
            s = nextafterf(s, 0.0f);
        scale[r] = s;
        for (int64_t j = 0; j < cols; j++) {
            float v = rintf(xr[j] / s); /* the default rounding mode: half to even */
            v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
            qr[j] = (int8_t)v;
        }
    }
    return bad;
}

void tf__dequantize_rows_i8(const int8_t *q, const float *scale, int64_t rows, int64_t cols, float *x)
{
    for (int64_t r = 0; r < rows; r++) {
        const float s = scale[r];
        for (int64_t j = 0; j < cols; j++)
            x[r * cols + j] = (float)q[r * cols + j] * s;
    }
}

uint16_t tf__f32_to_f16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    const uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) /* NaN: quiet, keeping the top payload bits */
        return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x03ffu));
    if (a >= 0x477ff000u) /* 65520 and up (and infinity) round to infinity */
        return (uint16_t)(sign | 0x7c00u);
    if (a < 0x38800000u) { /* below 2^-14: a subnormal half (or zero) */
        if (a < 0x33000000u) /* below 2^-25: rounds to zero (2^-25 itself is a tie to even 0) */
            return sign;
        const uint32_t e = a >> 23;           /* 102 .. 112 */
        const uint32_t m = (a & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126u - e;      /* 14 .. 24: keeps m * 2^(e - 150) / 2^-24 */
        uint32_t h = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (h & 1u)))
            h++;
        return (uint16_t)(sign | h); /* a carry into the exponent gives the smallest normal */
    }
    /* normal: rebias the exponent (127 -> 15), round the 13 dropped mantissa bits */
    uint32_t h = (a >> 13) - (112u << 10);
    const uint32_t rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
        h++; /* a carry may reach the exponent, up to infinity: still correct */
    return (uint16_t)(sign | h);
}

float tf__f16_to_f32(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    uint32_t u;
    if (e == 0x1fu) {
        u = sign | 0x7f800000u | (m << 13);
    } else if (e != 0) {
        u = sign | ((e + 112u) << 23) | (m << 13);
    } else if (m == 0) {
        u = sign;
    } else { /* subnormal: m * 2^-24, normalised */
        uint32_t ee = 113u, mm = m;
        while (!(mm & 0x400u)) {
            mm <<= 1;
            ee--;
        }
        u = sign | (ee << 23) | ((mm & 0x3ffu) << 13);
    }
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

int64_t tf__f32_to_f16_n(const float *src, uint16_t *dst, size_t n)
{
    int64_t overflow = -1;
    for (size_t i = 0; i < n; i++) {
        dst[i] = tf__f32_to_f16(src[i]);
        if (overflow < 0 && (dst[i] & 0x7fffu) == 0x7c00u && isfinite(src[i]))
            overflow = (int64_t)i;
    }
    return overflow;
}

void tf__f16_to_f32_n(const uint16_t *src, float *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = tf__f16_to_f32(src[i]);
}
