/* vecfile.h — reader for the .vec files in tests/vectors and the canonical event log printer shared by the vector tests and the fuzz replay.
 *
 * Normative reference: tests/vectors/README.md (the file format and the log format).
 */
#ifndef FSD_TEST_VECFILE_H
#define FSD_TEST_VECFILE_H

#include "fsd/fsd.h"

#include <stdio.h>

enum vec_op { OP_DATA, OP_GAP, OP_FIN, OP_RST, OP_FINISH };

typedef struct vec_step {
    enum vec_op op;
    fsd_dir dir;
    int64_t ts;
    uint64_t tag;
    uint64_t gap;
    uint8_t *data;
    size_t len;
    size_t last_str;             /* parser scratch: start of the last string */
} vec_step;

typedef struct vec {
    char *name;
    unsigned flags;              /* FSD_CONN_MIDSTREAM_* */
    fsd_limits limits;           /* zero: default */
    vec_step *steps;
    size_t nsteps;
    char *expect;                /* expected log, normalised (one event per line) */
    char *head;                  /* everything before the "expect" line, verbatim */
} vec;

/* Parse a .vec file; NULL and a message on stderr on error. */
vec *vec_load(const char *path);
void vec_free(vec *v);

/* Growable string. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;
void sb_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void sb_free(sbuf *b);

/* How to cut each packet: 0 whole; SPLIT_BYTES one byte per call; k > 0 cut each packet at k. */
#define SPLIT_WHOLE 0
#define SPLIT_BYTES ((size_t)-1)

/* Replay v through a fresh decoder and return the canonical log. */
void vec_run(const vec *v, size_t split, sbuf *log);

#endif
