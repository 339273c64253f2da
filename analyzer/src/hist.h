/* hist.h — log-linear latency histogram with bounded memory and ≤0.4% error.
 *
 * Normative reference: the HdrHistogram bucketing idea (G. Tene) — a value's
 * bucket is its power of two plus its next HIST_SUB_BITS mantissa bits.
 *
 * Values are non-negative integers (nanoseconds in fcgiscope). Values below
 * 2^(HIST_SUB_BITS+1) have a bucket each (exact). Above, a bucket spans
 * 2^(e-HIST_SUB_BITS) for a value in [2^e, 2^(e+1)), so reporting its midpoint
 * is off by at most 2^-(HIST_SUB_BITS+1) of the value: 1/256 = 0.39% with 7
 * bits (the documented bound is 1%). The percentile reported is clamped to
 * the exact [min, max], and the 100th percentile is the exact max. Values
 * above HIST_MAX_VALUE (about 39 hours in ns) share the last bucket; min,
 * max, count and sum stay exact. Memory: the bucket array grows to the
 * highest bucket used, at most HIST_NBUCKETS * 8 bytes (43 KB).
 */
#ifndef FCGISCOPE_HIST_H
#define FCGISCOPE_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_MAX_EXP 47 /* highest power of two with its own buckets */
#define HIST_LINEAR (1u << (HIST_SUB_BITS + 1))           /* 256 exact values */
#define HIST_NBUCKETS (HIST_LINEAR + (HIST_MAX_EXP - HIST_SUB_BITS) * (1u << HIST_SUB_BITS))
#define HIST_MAX_VALUE ((UINT64_C(1) << (HIST_MAX_EXP + 1)) - 1)

typedef struct hist {
    uint64_t *b;     /* counts, nb entries */
    size_t nb;
    uint64_t count;
    uint64_t min, max;
    long double sum;
} hist;

void fcs_hist_init(hist *h);
void fcs_hist_free(hist *h);
/* Returns false only when memory ran out (the value is then still counted in
 * count/min/max/sum but not in a bucket). */
bool fcs_hist_add(hist *h, uint64_t v);
/* Bucket index of v, and the range [lo, hi] a bucket covers. */
size_t fcs_hist_bucket(uint64_t v);
void fcs_hist_bucket_range(size_t idx, uint64_t *lo, uint64_t *hi);
/* The p-th percentile (0 < p <= 100) by nearest rank: the smallest value
 * with at least ceil(p/100 * count) values at or below it, as the midpoint of
 * its bucket, clamped to [min, max]. 0 when empty. */
uint64_t fcs_hist_percentile(const hist *h, double p);
/* Values in [lo, hi] (bucket resolution: a bucket counts when its midpoint
 * is in the range). */
uint64_t fcs_hist_count_range(const hist *h, uint64_t lo, uint64_t hi);
/* Add every value of src into dst. */
bool fcs_hist_merge(hist *dst, const hist *src);

#endif
