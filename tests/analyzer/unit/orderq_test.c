/* orderq_test.c — unit tests of orderq.c: the ordering queue writes lines by start (timestamp, frame), ties in queue order.
 *
 * Checked against a plain reference: the least of what is queued, found by
 * a linear scan, for every pop, over many pushes and pops interleaved.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "orderq.h"
#include "unit.h"

static uint64_t lcg = 12345;

static uint64_t rnd(void)
{
    lcg = lcg * 6364136223846793005u + 1442695040888963407u;
    return lcg >> 33;
}

/* The reference: the entries queued, in no order. */
typedef struct ref {
    orderq_ent e[20000];
    size_t n;
} ref;

static size_t ref_least(const ref *r)
{
    size_t m = 0;
    for (size_t i = 1; i < r->n; i++)
        if (fcs_orderq_less(&r->e[i], &r->e[m]))
            m = i;
    return m;
}

/* Push and pop in a random mix; every pop must give the reference's least. */
static void random_mix(int64_t ns_span, uint64_t tag_span, unsigned pop_percent, size_t steps)
{
    static ref r;
    orderq q;
    memset(&q, 0, sizeof q);
    r.n = 0;
    uint64_t seq = 0;
    size_t wrong = 0, pops = 0;
    for (size_t k = 0; k < steps; k++) {
        if (r.n > 0 && rnd() % 100 < pop_percent) {
            size_t m = ref_least(&r);
            void *want = r.e[m].item;
            void *got = fcs_orderq_pop(&q);
            wrong += got != want;
            pops++;
            r.e[m] = r.e[--r.n];
            continue;
        }
        orderq_ent e = { (int64_t)(rnd() % (uint64_t)ns_span) - ns_span / 2, rnd() % tag_span, seq++,
                         NULL };
        e.item = (void *)(uintptr_t)(e.seq + 1);
        if (!fcs_orderq_push(&q, e) || r.n == sizeof r.e / sizeof r.e[0])
            break;
        r.e[r.n++] = e;
    }
    while (r.n > 0) { /* the rest, in order */
        size_t m = ref_least(&r);
        wrong += fcs_orderq_pop(&q) != r.e[m].item;
        pops++;
        r.e[m] = r.e[--r.n];
    }
    CHECK(wrong == 0 && q.n == 0, "ns span %lld, tag span %llu, %u%% pops: %zu of %zu pops out of "
          "order", (long long)ns_span, (unsigned long long)tag_span, pop_percent, wrong, pops);
    fcs_orderq_free(&q);
    CHECK(q.e == NULL && q.n == 0 && q.cap == 0, "fcs_orderq_free leaves an empty queue");
}

void suite_orderq(void)
{
    orderq q;
    memset(&q, 0, sizeof q);
    CHECK(fcs_orderq_top(&q) == NULL, "a zeroed queue is empty");

    /* the sort key: timestamp, then frame, then queue order */
    static const orderq_ent in[] = {
        {5, 1, 0, "e"}, {3, 9, 1, "b"}, {3, 2, 2, "a"}, {5, 1, 3, "f"}, {INT64_MIN, 0, 4, "min"},
        {INT64_MAX, UINT64_MAX, 5, "max"}, {-1, 0, 6, "neg"}, {3, 9, 7, "c"}, {4, 0, 8, "d"},
    };
    static const char *const want[] = {"min", "neg", "a", "b", "c", "d", "e", "f", "max"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        CHECK(fcs_orderq_push(&q, in[i]), "push %zu", i);
    CHECK(q.n == 9 && fcs_orderq_top(&q) && !strcmp(fcs_orderq_top(&q)->item, "min"), "top is the least");
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *got = fcs_orderq_pop(&q);
        CHECK(!strcmp(got, want[i]), "pop %zu: %s, want %s", i, got, want[i]);
    }
    CHECK(q.n == 0 && fcs_orderq_top(&q) == NULL, "empty after popping all");
    fcs_orderq_free(&q);

    /* many equal starts: queue order decides (lines of one packet) */
    for (uint64_t i = 0; i < 1000; i++) {
        orderq_ent e = { 42, 7, i, (void *)(uintptr_t)(i + 1) };
        fcs_orderq_push(&q, e);
    }
    size_t bad = 0;
    for (uint64_t i = 0; i < 1000; i++)
        bad += fcs_orderq_pop(&q) != (void *)(uintptr_t)(i + 1);
    CHECK(bad == 0, "equal starts come out in queue order (%zu not)", bad);
    fcs_orderq_free(&q);

    /* against the reference: growth past the first 256 entries, ties in
     * timestamps and frames, negative timestamps */
    random_mix(1000000, 1000000, 0, 5000);
    random_mix(50, 3, 30, 20000);
    random_mix(4, 1, 45, 20000);
    random_mix(INT64_C(1) << 40, 1, 10, 20000);
}
