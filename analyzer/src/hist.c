/* hist.c — log-linear latency histogram with bounded memory and ≤0.4% error.
 *
 * Normative reference: see hist.h (HdrHistogram-style bucketing).
 */
#include "hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void fcs_hist_init(hist *h)
{
    memset(h, 0, sizeof *h);
}

void fcs_hist_free(hist *h)
{
    free(h->b);
    fcs_hist_init(h);
}

static unsigned ilog2_u64(uint64_t v) /* v > 0 */
{
#if defined(__GNUC__)
    return 63u - (unsigned)__builtin_clzll((unsigned long long)v);
#endif
    unsigned e = 0;
    while (v >>= 1)
        e++;
    return e;
}

size_t fcs_hist_bucket(uint64_t v)
{
    if (v < HIST_LINEAR)
        return (size_t)v;
    if (v > HIST_MAX_VALUE)
        return HIST_NBUCKETS - 1;
    unsigned e = ilog2_u64(v); /* >= HIST_SUB_BITS + 1 */
    uint64_t mant = (v >> (e - HIST_SUB_BITS)) & ((1u << HIST_SUB_BITS) - 1);
    return HIST_LINEAR + (size_t)(e - HIST_SUB_BITS - 1) * (1u << HIST_SUB_BITS) + (size_t)mant;
}

void fcs_hist_bucket_range(size_t idx, uint64_t *lo, uint64_t *hi)
{
    if (idx < HIST_LINEAR) {
        *lo = *hi = idx;
        return;
    }
    size_t k = idx - HIST_LINEAR;
    unsigned e = (unsigned)(k >> HIST_SUB_BITS) + HIST_SUB_BITS + 1;
    uint64_t mant = k & ((1u << HIST_SUB_BITS) - 1);
    uint64_t width = UINT64_C(1) << (e - HIST_SUB_BITS);
    *lo = (UINT64_C(1) << e) + mant * width;
    *hi = *lo + width - 1;
}

static bool grow(hist *h, size_t need)
{
    if (need <= h->nb)
        return true;
    size_t nb = h->nb ? h->nb : 512;
    while (nb < need)
        nb *= 2;
    if (nb > HIST_NBUCKETS)
        nb = HIST_NBUCKETS;
    uint64_t *b = realloc(h->b, nb * sizeof *b);
    if (!b)
        return false;
    memset(b + h->nb, 0, (nb - h->nb) * sizeof *b);
    h->b = b;
    h->nb = nb;
    return true;
}

bool fcs_hist_add(hist *h, uint64_t v)
{
    if (h->count == 0 || v < h->min)
        h->min = v;
    if (h->count == 0 || v > h->max)
        h->max = v;
    h->count++;
    h->sum += (long double)v;
    size_t idx = fcs_hist_bucket(v);
    if (!grow(h, idx + 1))
        return false;
    h->b[idx]++;
    return true;
}

static uint64_t mid(size_t idx)
{
    uint64_t lo, hi;
    fcs_hist_bucket_range(idx, &lo, &hi);
    return lo + (hi - lo) / 2;
}

uint64_t fcs_hist_percentile(const hist *h, double p)
{
    if (h->count == 0)
        return 0;
    if (p >= 100.0)
        return h->max;
    if (p <= 0.0)
        return h->min;
    long double r = ceill((long double)p / 100.0L * (long double)h->count);
    uint64_t rank = r < 1 ? 1 : (uint64_t)r;
    if (rank >= h->count)
        return h->max;
    uint64_t seen = 0;
    for (size_t i = 0; i < h->nb; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t v = mid(i);
            if (v < h->min)
                v = h->min;
            if (v > h->max)
                v = h->max;
            return v;
        }
    }
    return h->max; /* values lost to a failed allocation */
}

uint64_t fcs_hist_count_range(const hist *h, uint64_t lo, uint64_t hi)
{
    uint64_t n = 0;
    for (size_t i = 0; i < h->nb; i++) {
        if (!h->b[i])
            continue;
        uint64_t m = mid(i);
        if (m >= lo && m <= hi)
            n += h->b[i];
    }
    return n;
}

bool fcs_hist_merge(hist *dst, const hist *src)
{
    if (src->count == 0)
        return true;
    if (!grow(dst, src->nb))
        return false;
    for (size_t i = 0; i < src->nb; i++)
        dst->b[i] += src->b[i];
    if (dst->count == 0 || src->min < dst->min)
        dst->min = src->min;
    if (dst->count == 0 || src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    dst->sum += src->sum;
    return true;
}
