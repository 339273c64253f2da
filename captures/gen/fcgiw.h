/* fcgiw.h — FastCGI record writer for crafted captures and benchmarks (writes bytes; never parses them).
 *
 * Normative reference: FastCGI Specification 1.0 (Open Market, 1996): §3.3
 * record header, §3.4 name-value pairs, §5.1 BEGIN_REQUEST body, §5.5
 * END_REQUEST body, §4.2 UNKNOWN_TYPE body; ../shared/docs/FASTCGI.md.
 *
 * Everything is appended to a growable byte buffer (fcgiw_buf). Writers can
 * produce invalid records on purpose (any version, type, reserved byte,
 * declared lengths) so that anomaly captures can be crafted.
 */
#ifndef FCGISCOPE_FCGIW_H
#define FCGISCOPE_FCGIW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    FCGIW_BEGIN_REQUEST = 1, FCGIW_ABORT_REQUEST = 2, FCGIW_END_REQUEST = 3,
    FCGIW_PARAMS = 4, FCGIW_STDIN = 5, FCGIW_STDOUT = 6, FCGIW_STDERR = 7,
    FCGIW_DATA = 8, FCGIW_GET_VALUES = 9, FCGIW_GET_VALUES_RESULT = 10,
    FCGIW_UNKNOWN_TYPE = 11
};
enum { FCGIW_RESPONDER = 1, FCGIW_AUTHORIZER = 2, FCGIW_FILTER = 3 };
enum { FCGIW_KEEP_CONN = 1 };

/* Growable buffer. Allocation failure aborts the program (generators only). */
typedef struct fcgiw_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
} fcgiw_buf;

void fcgiw_buf_init(fcgiw_buf *b);
void fcgiw_buf_free(fcgiw_buf *b);
void fcgiw_buf_clear(fcgiw_buf *b);
void fcgiw_put(fcgiw_buf *b, const void *p, size_t n);
void fcgiw_put_str(fcgiw_buf *b, const char *s);
void fcgiw_put_byte(fcgiw_buf *b, uint8_t v, size_t count);

/* Full control over one header (8 bytes). */
typedef struct fcgiw_hdr {
    uint8_t version;          /* 1 for valid records */
    uint8_t type;
    uint16_t request_id;
    uint16_t content_length;
    uint8_t padding_length;
    uint8_t reserved;
} fcgiw_hdr;

void fcgiw_header(fcgiw_buf *b, const fcgiw_hdr *h);

/* A record: header (version 1, reserved 0) + content + padlen zero bytes. */
void fcgiw_record(fcgiw_buf *b, uint8_t type, uint16_t request_id,
                  const void *content, uint16_t len, uint8_t padlen);

/* Padding needed to align len to 8. */
uint8_t fcgiw_pad8(size_t len);

/* 8-byte bodies. */
void fcgiw_begin_body(uint8_t out[8], uint16_t role, uint8_t flags);
void fcgiw_end_body(uint8_t out[8], uint32_t app_status, uint8_t protocol_status);

/* BEGIN_REQUEST / END_REQUEST / ABORT_REQUEST records (version 1, no padding). */
void fcgiw_begin(fcgiw_buf *b, uint16_t request_id, uint16_t role, uint8_t flags);
void fcgiw_end(fcgiw_buf *b, uint16_t request_id, uint32_t app_status, uint8_t protocol_status);
void fcgiw_abort(fcgiw_buf *b, uint16_t request_id);

/* Name-value length: 1 byte when len <= 127 and !force_long, else 4 bytes
 * with the high bit set. Returns bytes written to out (1 or 4). */
size_t fcgiw_nv_length(uint8_t out[4], uint32_t len, bool force_long);

/* Append one pair. force_long_name/value select the 4-byte form for short lengths. */
void fcgiw_nv(fcgiw_buf *b, const void *name, uint32_t nlen, const void *value, uint32_t vlen,
              bool force_long_name, bool force_long_value);
/* Convenience for NUL-free strings. */
void fcgiw_nv_str(fcgiw_buf *b, const char *name, const char *value);

/* How a stream is cut into records. */
typedef struct fcgiw_style {
    uint16_t max_content;     /* content bytes per record; 0: 65535 */
    bool pad8;                /* pad every record (incl. the empty one) to a multiple of 8 */
} fcgiw_style;

/* Append a stream: data cut into records of at most style->max_content
 * bytes, then (when terminate) the empty record that ends it. len 0 with
 * terminate writes only the empty record. style NULL: one record, no padding. */
void fcgiw_stream(fcgiw_buf *b, uint8_t type, uint16_t request_id, const void *data, size_t len,
                  const fcgiw_style *style, bool terminate);

/* Cut a stream at explicit content sizes: sizes[0..n) (0 entries skipped),
 * the remainder (if any) in one last record; then the empty record if
 * terminate. */
void fcgiw_stream_cuts(fcgiw_buf *b, uint8_t type, uint16_t request_id, const void *data,
                       size_t len, const size_t *sizes, size_t n, bool pad8, bool terminate);

#endif /* FCGISCOPE_FCGIW_H */
