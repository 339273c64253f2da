/* vecfile.h — reader for the .vec files in tests/vectors and the canonical event log printer shared by the vector tests and the fuzz replay.
 *
 * Normative reference: tests/vectors/README.md (the file format and the log format).
 */
#ifndef FSD_TEST_VECFILE_H
#define FSD_TEST_VECFILE_H

#include "fsd/fsd.h"
#include "fsd/fsd_testing.h"

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
/* The whole file as a NUL-terminated string (malloc'd), NULL on error. */
char *vec_read_file(const char *path);
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
/* Each packet cut at its record boundaries, whole records fed with fsd_conn_feed_record()
 * (when the direction is at a record boundary), the rest with fsd_conn_feed(). */
#define SPLIT_RECORDS ((size_t)-2)

/* Harness checks that failed during a replay (besides the log itself). */
#define VEC_ERR_DATA_OFFSET 1  /* data spans of a record not contiguous (without a gap) */
#define VEC_ERR_PARAMS 2       /* transaction params differ from the param events */
#define VEC_ERR_ANOMALY 4      /* anomaly id/severity out of range (note..max_severity), detail not terminated */
#define VEC_ERR_RC 8           /* an entry point returned an error other than FSD_E_FINISHED */
#define VEC_ERR_NOMEM 16

/* Replay v through a fresh decoder, append the canonical log; returns VEC_ERR_* bits. */
int vec_run(const vec *v, size_t split, sbuf *log);
/* The same with only on_anomaly and on_transaction set (lean != 0), as a
 * request-level report runs: the decoder's paths without on_param/on_data/
 * on_response/on_record must give the same anomalies, transactions and stats
 * (vec_lean_lines() of the full log). */
int vec_run_cb(const vec *v, size_t split, sbuf *log, int lean);
/* The lines of a full log a lean run also prints ("anomaly ", "tx", "stats ", "step "). */
void vec_lean_lines(const char *full, sbuf *out);

#endif
