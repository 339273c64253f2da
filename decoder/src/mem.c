/* mem.c — the decoder's memory: every allocation goes through the connection's allocator hooks and is counted.
 *
 * Normative reference: fsd.h (fsd_allocator, fsd_conn_stats.memory_bytes).
 * The ground floor of the decoder: it calls nothing above it.
 */
#include "fsd_internal.h"

#include <stdlib.h>
#include <string.h>

static void *default_alloc(void *ud, size_t n)
{
    (void)ud;
    return malloc(n);
}

static void default_free(void *ud, void *p, size_t n)
{
    (void)ud;
    (void)n;
    free(p);
}

void *fsd_mem_alloc(fsd_conn *c, size_t n)
{
    void *p = c->al.alloc(c->al.ud, n ? n : 1);
    if (p)
        c->st.memory_bytes += n;
    return p;
}

void fsd_mem_free(fsd_conn *c, void *p, size_t n)
{
    if (p == NULL)
        return;
    c->al.free(c->al.ud, p, n ? n : 1);
    c->st.memory_bytes -= n;
}

bool fsd_mem_grow(fsd_conn *c, void **buf, size_t *cap, size_t need, size_t elem)
{
    size_t ncap;
    void *nb;
    if (need <= *cap)
        return true;
    ncap = *cap ? *cap : elem == 1 ? 512 : 16; /* first size: a typical request's params fit */
    while (ncap < need)
        ncap *= 2;
    nb = fsd_mem_alloc(c, ncap * elem);
    if (nb == NULL)
        return false;
    if (*buf) {
        memcpy(nb, *buf, *cap * elem);
        fsd_mem_free(c, *buf, *cap * elem);
    }
    *buf = nb;
    *cap = ncap;
    return true;
}

fsd_allocator fsd_mem_default(void)
{
    fsd_allocator al;
    al.alloc = default_alloc;
    al.free = default_free;
    al.ud = NULL;
    return al;
}

/* Per-type record counters: 32 bits until one would overflow, then exact 64-bit ones. */
uint64_t *fsd_big_stats(fsd_conn *c)
{
    if (c->st.big == NULL) {
        c->st.big = fsd_mem_alloc(c, FSD_BIG_LEN * sizeof *c->st.big);
        if (c->st.big == NULL) {
            c->nomem = true;
            return NULL;
        }
        memset(c->st.big, 0, FSD_BIG_LEN * sizeof *c->st.big);
    }
    return c->st.big;
}
