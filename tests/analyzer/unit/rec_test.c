/* rec_test.c — unit tests of rec.c: request records copied from hand-made transactions.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "rec.h"

void suite_rec(void)
{
    fsd_anomaly_event evs[8];
    fsd_transaction tx = tx_abandoned(evs);
    req_rec r;
    CHECK(fcs_req_from_tx(&r, &tx, no_params, 0), "fcs_req_from_tx");
    CHECK(r.status == 200 && r.status_source == FSD_STATUS_HEADER && r.user_status == 504
              && r.user_outcome == FSD_USER_GAVE_UP_TIMEOUT && r.cgi_header_bytes == 5000,
          "user status copied: %d %d %d %d", r.status, (int)r.status_source, r.user_status,
          (int)r.user_outcome);
    CHECK(r.has_latency && r.has_elapsed && r.elapsed_ns == r.latency_ns
              && r.elapsed_ns == INT64_C(3000000001),
          "complete: elapsed == latency (%" PRId64 ", %" PRId64 ")", r.elapsed_ns, r.latency_ns);
    CHECK(r.has_close && r.closed_by == FSD_DIR_CLIENT && r.closed_by_reset, "closed_by client, rst");
    CHECK(r.has_abandoned && r.abandoned_ns == INT64_C(1000000000), "abandoned after 1 s: %" PRId64,
          r.abandoned_ns);
    CHECK(r.gap, "gap copied");
    CHECK(r.worst == FSD_SEV_WARNING, "worst severity: %d", (int)r.worst);
    CHECK(fcs_req_anomaly_severity(&r, FSD_A_request_abandoned) == FSD_SEV_WARNING
                  && fcs_req_anomaly_severity(&r, FSD_A_end_without_stdout_eos) == FSD_SEV_NOTE
                  && fcs_req_anomaly_severity(&r, FSD_A_desync) == 0,
          "per-id severity: the worst event of that id");
    fcs_req_set_end_time(&r, INT64_C(9000000000));
    CHECK(r.elapsed_ns == INT64_C(3000000001), "a complete request keeps its elapsed time");
    req_rec cp;
    CHECK(fcs_req_copy(&cp, &r) && cp.user_status == 504 && cp.elapsed_ns == r.elapsed_ns
                  && cp.closed_by == FSD_DIR_CLIENT && cp.gap
                  && fcs_req_anomaly_severity(&cp, FSD_A_request_abandoned) == FSD_SEV_WARNING,
          "fcs_req_copy keeps the new fields");
    fcs_req_free(&cp);
    /* the inline form gives the same record */
    size_t need = fcs_req_tx_size(&tx, no_params, 0);
    void *block = malloc(need ? need : 1);
    req_rec in;
    fcs_req_from_tx_inline(&in, &tx, no_params, 0, block);
    CHECK(in.user_status == r.user_status && in.user_outcome == r.user_outcome
              && in.elapsed_ns == r.elapsed_ns && in.abandoned_ns == r.abandoned_ns
              && in.closed_by == r.closed_by && in.closed_by_reset == r.closed_by_reset
              && in.gap == r.gap && in.status_source == r.status_source,
          "fcs_req_from_tx_inline == fcs_req_from_tx");
    fcs_req_free(&in);
    free(block);
    fcs_req_free(&r);

    /* incomplete, the server reset at 2.5 s: elapsed to the close, not to the delivery */
    tx = tx_base();
    tx.end_reason = FSD_END_RESET;
    tx.http_status = 200;
    tx.user_status = 0;
    tx.user_outcome = FSD_USER_BACKEND_FAILED;
    tx.t_last = (fsd_timepoint){INT64_C(2400000000), 24, true};
    tx.t_close = (fsd_timepoint){INT64_C(2500000000), 25, true};
    tx.closed_by = FSD_DIR_SERVER;
    fcs_req_from_tx(&r, &tx, no_params, 0);
    CHECK(!r.complete && !r.has_latency && r.has_elapsed && r.elapsed_ns == INT64_C(1500000000),
          "incomplete: elapsed to t_close: %" PRId64, r.elapsed_ns);
    CHECK(r.closed_by == FSD_DIR_SERVER && !r.closed_by_reset && r.user_status == 0 && !r.has_abandoned,
          "closed by server (fin)");
    /* closed: delivered at the close that ended the connection (the web
     * server's own FIN after the application's): it lasted until then */
    r.end_reason = FSD_END_CLOSED;
    fcs_req_set_end_time(&r, INT64_C(2600000000));
    CHECK(r.elapsed_ns == INT64_C(1600000000), "closed: elapsed to the connection's end: %" PRId64,
          r.elapsed_ns);
    fcs_req_set_end_time(&r, INT64_C(2000000000));
    CHECK(r.elapsed_ns == INT64_C(1600000000), "an earlier delivery time does not shorten it");
    r.end_reason = FSD_END_CAPTURE;
    r.elapsed_ns = INT64_C(1500000000);
    fcs_req_set_end_time(&r, INT64_C(9000000000));
    CHECK(r.elapsed_ns == INT64_C(1500000000), "capture end after a known close: the close stays");
    fcs_req_free(&r);

    /* incomplete without a close: to the last byte seen */
    tx.t_close.set = false;
    tx.closed_by = -1;
    fcs_req_from_tx(&r, &tx, no_params, 0);
    CHECK(r.elapsed_ns == INT64_C(1400000000) && r.closed_by == -1 && !r.has_close,
          "elapsed to t_last: %" PRId64, r.elapsed_ns);
    fcs_req_free(&r);

    /* capture end: elapsed runs to the capture's end */
    tx.end_reason = FSD_END_CAPTURE;
    fcs_req_from_tx(&r, &tx, no_params, 0);
    fcs_req_set_end_time(&r, INT64_C(6000000000));
    CHECK(r.elapsed_ns == INT64_C(5000000000), "capture_end: elapsed to the end: %" PRId64, r.elapsed_ns);
    fcs_req_free(&r);

    /* nothing known (what the placeholder decoder gives): the delivery time */
    tx.t_last.set = false;
    tx.end_reason = FSD_END_CLOSED;
    fcs_req_from_tx(&r, &tx, no_params, 0);
    CHECK(!r.has_elapsed, "no time known: no elapsed yet");
    fcs_req_set_end_time(&r, INT64_C(3250000000));
    CHECK(r.has_elapsed && r.elapsed_ns == INT64_C(2250000000), "delivery time as the end: %" PRId64,
          r.elapsed_ns);
    fcs_req_free(&r);

    /* a bogus closed_by is not passed on */
    tx.closed_by = 5;
    tx.closed_by_reset = true;
    fcs_req_from_tx(&r, &tx, no_params, 0);
    CHECK(r.closed_by == -1 && !r.closed_by_reset, "closed_by 5 -> none");
    fcs_req_free(&r);
    /* no BEGIN seen: no elapsed, nothing invented */
    tx = tx_base();
    tx.t_begin.set = false;
    tx.t_last = (fsd_timepoint){INT64_C(2400000000), 24, true};
    tx.end_reason = FSD_END_CAPTURE;
    fcs_req_from_tx(&r, &tx, no_params, 0);
    fcs_req_set_end_time(&r, INT64_C(6000000000));
    CHECK(!r.has_elapsed, "no BEGIN: no elapsed");
    fcs_req_free(&r);
}
