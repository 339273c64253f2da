/* activeq.c — the active BEGIN_REQUESTs: a binary min-heap whose nodes know their place.
 *
 * See activeq.h. Removal from the middle moves the last node into the
 * hole and sifts it whichever way it has to go.
 */
#include "activeq.h"

#include <stdlib.h>

static void place(activeq *q, size_t i, activeq_node *nd)
{
    q->h[i] = nd;
    nd->idx = i;
}

static void sift_up(activeq *q, size_t i)
{
    activeq_node *nd = q->h[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!fcs_activeq_less(nd, q->h[parent]))
            break;
        place(q, i, q->h[parent]);
        i = parent;
    }
    place(q, i, nd);
}

static void sift_down(activeq *q, size_t i)
{
    activeq_node *nd = q->h[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = l;
        if (l >= q->n)
            break;
        if (r < q->n && fcs_activeq_less(q->h[r], q->h[l]))
            m = r;
        if (!fcs_activeq_less(q->h[m], nd))
            break;
        place(q, i, q->h[m]);
        i = m;
    }
    place(q, i, nd);
}

bool fcs_activeq_push(activeq *q, activeq_node *nd)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        activeq_node **p = realloc(q->h, cap * sizeof *p);
        if (!p)
            return false;
        q->h = p;
        q->cap = cap;
    }
    place(q, q->n++, nd);
    sift_up(q, nd->idx);
    return true;
}

void fcs_activeq_remove(activeq *q, activeq_node *nd)
{
    size_t i = nd->idx;
    q->n--;
    if (i == q->n)
        return;
    place(q, i, q->h[q->n]);
    sift_down(q, i);
    sift_up(q, i); /* (a no-op when it went down) */
}

void fcs_activeq_free(activeq *q)
{
    free(q->h);
    q->h = NULL;
    q->n = q->cap = 0;
}
