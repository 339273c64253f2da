/* fuzz_decoder_replay.c — runs the fuzz target without libFuzzer (any compiler) over seed files, and writes the seed corpus from the vectors.
 *
 * Normative reference: tests/fuzz/fuzz_decoder.c (input encoding).
 *
 *   fuzz_decoder_replay FILE...                        run each input (a .vec is converted first)
 *   fuzz_decoder_replay --write-seeds DIR FILE.vec...  write DIR/<name>.bin for libFuzzer
 */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bytes {
    uint8_t *b;
    size_t len, cap;
} bytes;

static void put(bytes *o, const void *p, size_t n)
{
    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2 + 64;
        o->b = realloc(o->b, o->cap);
        if (!o->b)
            abort();
    }
    memcpy(o->b + o->len, p, n);
    o->len += n;
}

/* Encode a vector as a fuzz input (data longer than 65535 is split in several ops). */
static void encode(const vec *v, bytes *o)
{
    unsigned profile = 0;
    uint8_t hdr[2];
    if (v->limits.max_active_requests || v->limits.max_params_bytes || v->limits.max_cgi_header_bytes)
        profile = 2;
    hdr[0] = (uint8_t)((v->flags & 3u) | (profile << 2));
    hdr[1] = 7;
    put(o, hdr, 2);
    for (size_t i = 0; i < v->nsteps; i++) {
        const vec_step *s = &v->steps[i];
        uint8_t op[3];
        switch (s->op) {
        case OP_DATA: {
            size_t pos = 0;
            do {
                size_t n = s->len - pos > 65535 ? 65535 : s->len - pos;
                op[0] = (uint8_t)(0 | s->dir);
                op[1] = (uint8_t)(n >> 8);
                op[2] = (uint8_t)n;
                put(o, op, 3);
                put(o, s->data + pos, n);
                pos += n;
            } while (pos < s->len);
            break;
        }
        case OP_GAP:
            op[0] = (uint8_t)(2 | s->dir);
            op[1] = (uint8_t)(s->gap > 65535 ? 255 : s->gap >> 8);
            op[2] = (uint8_t)(s->gap > 65535 ? 255 : s->gap);
            put(o, op, 3);
            break;
        case OP_FIN: op[0] = (uint8_t)(4 | s->dir); put(o, op, 1); break;
        case OP_RST: op[0] = (uint8_t)(6 | s->dir); put(o, op, 1); break;
        case OP_FINISH: op[0] = 8; put(o, op, 1); break;
        }
    }
}

static int load(const char *path, bytes *o)
{
    size_t n = strlen(path);
    if (n > 4 && strcmp(path + n - 4, ".vec") == 0) {
        vec *v = vec_load(path);
        if (!v)
            return -1;
        encode(v, o);
        vec_free(v);
        return 0;
    }
    {
        FILE *f = fopen(path, "rb");
        uint8_t buf[4096];
        size_t k;
        if (!f)
            return -1;
        while ((k = fread(buf, 1, sizeof buf, f)) > 0)
            put(o, buf, k);
        fclose(f);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int runs = 0;
    if (argc >= 3 && strcmp(argv[1], "--write-seeds") == 0) {
        for (int i = 3; i < argc; i++) {
            bytes o = { 0 };
            char out[4096];
            const char *base = strrchr(argv[i], '/');
            FILE *f;
            if (load(argv[i], &o) != 0) {
                fprintf(stderr, "%s: cannot read\n", argv[i]);
                return 1;
            }
            snprintf(out, sizeof out, "%s/%s.bin", argv[2], base ? base + 1 : argv[i]);
            f = fopen(out, "wb");
            if (!f || fwrite(o.b, 1, o.len, f) != o.len) {
                fprintf(stderr, "%s: cannot write\n", out);
                return 1;
            }
            fclose(f);
            free(o.b);
        }
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        bytes o = { 0 };
        if (load(argv[i], &o) != 0) {
            fprintf(stderr, "%s: cannot read\n", argv[i]);
            return 1;
        }
        LLVMFuzzerTestOneInput(o.b ? o.b : (const uint8_t *)"", o.len);
        /* and every prefix of small inputs (the fuzzer's favourite mutation) */
        if (o.len < 2048)
            for (size_t k = 0; k < o.len; k += 7)
                LLVMFuzzerTestOneInput(o.b, k);
        free(o.b);
        runs++;
    }
    printf("fuzz_decoder_replay: %d input(s) replayed without a crash or log difference\n", runs);
    return runs ? 0 : 1;
}
