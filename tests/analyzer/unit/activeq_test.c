/* activeq_test.c — unit tests of activeq.c: the active BEGIN_REQUESTs, earliest first, any one removable.
 *
 * Checked against a plain reference after every step of random pushes and
 * removals (from the top, the middle, the end): the earliest by a linear
 * scan, and the heap's own invariants (every node's idx is its place, no
 * parent after its children).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "activeq.h"
#include "unit.h"

static uint64_t lcg = 777;

static uint64_t rnd(void)
{
    lcg = lcg * 6364136223846793005u + 1442695040888963407u;
    return lcg >> 33;
}

/* idx right, heap order kept. */
static bool sound(const activeq *q)
{
    for (size_t i = 0; i < q->n; i++) {
        if (q->h[i]->idx != i)
            return false;
        if (i > 0 && fcs_activeq_less(q->h[i], q->h[(i - 1) / 2]))
            return false;
    }
    return true;
}

#define NODES 3000

static void random_mix(int64_t ns_span, uint64_t tag_span, unsigned remove_percent, size_t steps)
{
    static activeq_node nodes[NODES];
    static activeq_node *in[NODES]; /* the reference: what is noted */
    size_t nin = 0, used = 0, wrong_min = 0, unsound = 0;
    activeq q;
    memset(&q, 0, sizeof q);
    for (size_t k = 0; k < steps; k++) {
        if (nin > 0 && (used == NODES || rnd() % 100 < remove_percent)) {
            size_t j = rnd() % nin; /* any one: top, middle or end */
            fcs_activeq_remove(&q, in[j]);
            in[j] = in[--nin];
        } else if (used < NODES) {
            activeq_node *nd = &nodes[used++];
            nd->ns = (int64_t)(rnd() % (uint64_t)ns_span) - ns_span / 2;
            nd->tag = rnd() % tag_span;
            if (!fcs_activeq_push(&q, nd))
                break;
            in[nin++] = nd;
        } else {
            break;
        }
        const activeq_node *least = NULL;
        for (size_t i = 0; i < nin; i++)
            if (!least || fcs_activeq_less(in[i], least))
                least = in[i];
        const activeq_node *m = fcs_activeq_min(&q);
        wrong_min += !(m == least || (m && least && !fcs_activeq_less(m, least)
                                      && !fcs_activeq_less(least, m)));
        unsound += !sound(&q) || q.n != nin;
    }
    CHECK(wrong_min == 0 && unsound == 0, "ns span %lld, tag span %llu, %u%% removals: %zu wrong "
          "earliest, %zu unsound heaps", (long long)ns_span, (unsigned long long)tag_span,
          remove_percent, wrong_min, unsound);
    fcs_activeq_free(&q);
    CHECK(q.h == NULL && q.n == 0 && q.cap == 0, "fcs_activeq_free leaves an empty heap");
}

void suite_activeq(void)
{
    activeq q;
    memset(&q, 0, sizeof q);
    CHECK(fcs_activeq_min(&q) == NULL, "a zeroed heap has no earliest");
    activeq_node a = {5, 1, 0}, b = {3, 9, 0}, c = {3, 2, 0}, d = {INT64_MIN, 0, 0};
    fcs_activeq_push(&q, &a);
    fcs_activeq_push(&q, &b);
    fcs_activeq_push(&q, &c);
    CHECK(fcs_activeq_min(&q) == &c, "earliest by timestamp, then frame");
    fcs_activeq_push(&q, &d);
    CHECK(fcs_activeq_min(&q) == &d, "INT64_MIN first");
    fcs_activeq_remove(&q, &b); /* from the middle */
    CHECK(fcs_activeq_min(&q) == &d && q.n == 3 && sound(&q), "removed from the middle");
    fcs_activeq_remove(&q, &d); /* the top */
    CHECK(fcs_activeq_min(&q) == &c && sound(&q), "removed the top: the next earliest");
    fcs_activeq_remove(&q, &c);
    fcs_activeq_remove(&q, &a);
    CHECK(fcs_activeq_min(&q) == NULL && q.n == 0, "empty again");
    fcs_activeq_free(&q);

    random_mix(1000000, 1000000, 30, 20000);
    random_mix(20, 3, 45, 20000); /* many equal starts */
    random_mix(INT64_C(1) << 40, 1, 10, 5000);
}
