/* attempt.h — attempts: FastCGI requests that are tries of one user request, grouped on their way out.
 *
 * Normative reference: analyzer/README.md "Attempts" (the rule and its
 * limits). The cases it covers: one HTTP request, several FastCGI attempts:
 * nginx retrying on a new connection after a recycled php-fpm worker closed
 * a kept-alive one, `error_page 404 = /x.php` internal redirects,
 * `fastcgi_next_upstream http_503`.
 *
 * The rule. Request B is the next attempt of an earlier request A when
 *  - A failed as the web server sees it: no response header at all (closed,
 *    reset, no END_REQUEST) or a status a web server handles itself
 *    (403, 404, 500, 502, 503, 504);
 *  - B began at most ATT_WINDOW_NS after A ended (its END_REQUEST, or the
 *    close/last byte of an incomplete one);
 *  - and either both carry the same request tag (HTTP_X_REQUEST_ID, else
 *    HTTP_TRACEPARENT, the same value), or both carry the same REMOTE_ADDR,
 *    REMOTE_PORT and REQUEST_URI (the same HTTP request of the same client
 *    connection) and, when A was answered, B went to another server or to
 *    another script (a repeated request on a kept-alive client connection
 *    is not a retry: a new request to the same script after a 404 is just
 *    the client asking again).
 * A is then `retried` (and gets the note attempt_retried; its own failure
 * warnings (incomplete_request, keep_conn_violation, request_abandoned and
 * the connection-level ones of its connection) become notes: nobody saw
 * them), B's `attempt` is A's + 1. Requests not retried are what the users
 * got: they are the user requests (stats.user_requests, user statuses).
 *
 * How. The stage sits after the ordering queue (anz.c), so requests arrive
 * in start order. A failed request is held until no later request can be
 * its retry (the start-order bound passed its end + the window), and every
 * line after it waits behind it so the output keeps its order. At most
 * max_held lines are held: past that the oldest goes out undecided.
 */
#ifndef FCGISCOPE_ATTEMPT_H
#define FCGISCOPE_ATTEMPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsd/fsd.h"
#include "rec.h"
#include "stats.h"

#define ATT_WINDOW_NS INT64_C(500000000) /* 0.5 s: nginx retries at once */
#define ATT_MAX_HELD 20000

/* Fill r's attempt keys (r->att) from the transaction's params. */
void fcs_att_keys_from_tx(req_rec *r, const fsd_transaction *tx);

/* Write (write true) or only free (false) one item. */
typedef void (*att_release_fn)(void *ud, void *item, bool write);

typedef struct attempts attempts;

/* release(ud, item) writes and frees an item. NULL on allocation failure. */
attempts *fcs_att_new(stats *st, int64_t window_ns, size_t max_held, att_release_fn release,
                      void *ud);
/* The next line in output order: r is its request record (owned by item,
 * valid until release), NULL for an anomaly line (then a is it, or NULL).
 * ns is the line's sort time. */
void fcs_att_push(attempts *g, void *item, req_rec *r, anom_rec *a, int64_t ns);
/* No request still to come begins before ns. */
void fcs_att_advance(attempts *g, int64_t ns);
/* Write everything held (end of input; live: the wall-clock flush). */
void fcs_att_flush(attempts *g);
size_t fcs_att_held(const attempts *g);
/* Free the stage and what it still holds, unwritten. */
void fcs_att_free(attempts *g);

#endif
