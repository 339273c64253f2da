/* fsd_testing.h — decoder entry points for the decoder's own tests (not part of the front ends' API).
 *
 * Normative reference: decoder/include/fsd/fsd.h (fsd_conn_feed).
 *
 * The vector replays (tests/decoder/vecfile.c) and the fuzzers feed every
 * capture once more a whole record at a time and check that the events are
 * the same as fsd_conn_feed() of the same bytes in any other cut. Front ends
 * feed bytes with fsd_conn_feed(); nothing in analyzer/ or dissector/ uses
 * this header.
 */
#ifndef FSD_FSD_TESTING_H
#define FSD_FSD_TESTING_H

#include "fsd/fsd.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    FSD_E_NOT_RECORD = -3 /* fsd_conn_feed_record(): len is not the record's length,
                             or the direction is in the middle of a record */
};

/* Push exactly one complete record. Same effect as fsd_conn_feed() of those
 * bytes; FSD_E_NOT_RECORD when len is not 8 + its contentLength +
 * paddingLength or the direction is inside a record. */
int fsd_conn_feed_record(fsd_conn *c, fsd_dir dir, const uint8_t *rec, size_t len,
                         int64_t ts_ns, uint64_t tag);

#ifdef __cplusplus
}
#endif

#endif /* FSD_FSD_TESTING_H */
