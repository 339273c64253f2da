/* hist_test.c — unit tests of hist.c: the latency histogram's buckets and percentiles.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "hist.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void suite_hist(void)
{
    /* bucket ranges tile the value space without holes */
    uint64_t prev_hi = 0;
    for (size_t i = 0; i < HIST_NBUCKETS; i++) {
        uint64_t lo, hi;
        fcs_hist_bucket_range(i, &lo, &hi);
        if (i)
            CHECK(lo == prev_hi + 1, "bucket %zu starts at %" PRIu64 ", previous ended at %" PRIu64,
                  i, lo, prev_hi);
        CHECK(fcs_hist_bucket(lo) == i && fcs_hist_bucket(hi) == i, "bucket %zu bounds map back", i);
        /* documented error: half a bucket <= 1/256 of its lower bound */
        CHECK((long double)(hi - lo) / 2 <= (long double)lo / 256 + 0.5, "bucket %zu too wide", i);
        prev_hi = hi;
    }
    CHECK(prev_hi == HIST_MAX_VALUE, "last bucket ends at HIST_MAX_VALUE");
    CHECK(fcs_hist_bucket(UINT64_MAX) == HIST_NBUCKETS - 1, "huge values clamp");

    hist h;
    fcs_hist_init(&h);
    CHECK(fcs_hist_percentile(&h, 50) == 0, "empty histogram");
    for (uint64_t v = 1; v <= 100; v++)
        fcs_hist_add(&h, v);
    CHECK(fcs_hist_percentile(&h, 50) == 50, "p50 of 1..100 exact below 256: %" PRIu64,
          fcs_hist_percentile(&h, 50));
    CHECK(fcs_hist_percentile(&h, 90) == 90, "p90 of 1..100");
    CHECK(fcs_hist_percentile(&h, 99) == 99, "p99 of 1..100");
    CHECK(fcs_hist_percentile(&h, 100) == 100 && h.max == 100 && h.min == 1, "max/min exact");
    fcs_hist_free(&h);

    /* random log-uniform latencies from 1 us to 100 s: every percentile
     * within 1% (documented bound; 0.4% by construction) of the exact one */
    enum { N = 200000 };
    uint64_t *v = malloc(N * sizeof *v);
    uint64_t seed = 42;
    fcs_hist_init(&h);
    for (size_t i = 0; i < N; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(seed >> 11) / 9007199254740992.0;
        v[i] = (uint64_t)(1000.0 * pow(10.0, u * 8.0));
        fcs_hist_add(&h, v[i]);
    }
    qsort(v, N, sizeof *v, cmp_u64);
    const double ps[] = {1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99};
    for (size_t k = 0; k < sizeof ps / sizeof *ps; k++) {
        size_t rank = (size_t)ceil(ps[k] / 100.0 * N);
        uint64_t exact = v[rank - 1];
        uint64_t got = fcs_hist_percentile(&h, ps[k]);
        double rel = fabs((double)got - (double)exact) / (double)exact;
        CHECK(rel <= 0.01, "p%g: got %" PRIu64 " exact %" PRIu64 " (rel %.4f)", ps[k], got, exact, rel);
        CHECK(rel <= 1.0 / 256 + 1e-9, "p%g within 1/256: rel %.5f", ps[k], rel);
    }
    CHECK(fcs_hist_percentile(&h, 100) == v[N - 1], "max exact");
    CHECK(h.min == v[0], "min exact");
    CHECK(h.nb <= HIST_NBUCKETS, "bounded buckets");
    /* merge = adding everything to one */
    hist h2, h3;
    fcs_hist_init(&h2);
    fcs_hist_init(&h3);
    for (size_t i = 0; i < N; i += 2)
        fcs_hist_add(&h2, v[i]);
    for (size_t i = 1; i < N; i += 2)
        fcs_hist_add(&h3, v[i]);
    fcs_hist_merge(&h2, &h3);
    CHECK(h2.count == h.count && fcs_hist_percentile(&h2, 99) == fcs_hist_percentile(&h, 99), "merge");
    uint64_t in_range = fcs_hist_count_range(&h, 0, UINT64_MAX);
    CHECK(in_range == N, "count_range over everything = %" PRIu64, in_range);
    fcs_hist_free(&h);
    fcs_hist_free(&h2);
    fcs_hist_free(&h3);
    free(v);

    /* one value: every percentile is it */
    fcs_hist_init(&h);
    fcs_hist_add(&h, 123456789);
    CHECK(fcs_hist_percentile(&h, 50) == 123456789 && fcs_hist_percentile(&h, 1) == 123456789,
          "single value clamps to min/max");
    fcs_hist_free(&h);
}
