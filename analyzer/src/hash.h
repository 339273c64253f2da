/* hash.h — the analyzer's one hash of byte strings (attempts' keys, the script table's slots).
 *
 * Only equality within one run matters: no hash is ever written out.
 */
#ifndef FCS_HASH_H
#define FCS_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FCS_HASH_SEED UINT64_C(0x9e3779b97f4a7c15)

static inline uint64_t fcs_hash_mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
    return h ^ (h >> 32);
}

/* n bytes into h, 8 at a time (the tail zero-padded), then their count, so
 * that "a" + "bc" and "ab" + "c" differ. */
static inline uint64_t fcs_hash_bytes(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    size_t i = 0;
    uint64_t w;
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, b + i, 8);
        h = fcs_hash_mix(h, w);
    }
    if (i < n) {
        w = 0;
        memcpy(&w, b + i, n - i);
        h = fcs_hash_mix(h, w);
    }
    return fcs_hash_mix(h, (uint64_t)n);
}

#endif
