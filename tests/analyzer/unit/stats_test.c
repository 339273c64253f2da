/* stats_test.c — unit tests of stats.c: the summary's counters, slowest and incomplete lists.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "stats.h"

void suite_stats(void)
{
    stats st;
    fcs_stats_init(&st, 3);
    fsd_transaction tx = tx_base();
    req_rec r;
    /* 14 incomplete requests delivered in reverse start order, then complete ones */
    for (int i = 13; i >= 0; i--) {
        tx.t_begin.ns = INT64_C(1000000000) * (i + 1);
        tx.t_begin.tag = (uint64_t)(i + 1);
        tx.end_reason = FSD_END_CAPTURE;
        tx.t_last = (fsd_timepoint){tx.t_begin.ns + INT64_C(100000000) * i, 0, true};
        fcs_req_from_tx(&r, &tx, no_params, 0);
        fcs_stats_request(&st, &r);
        fcs_stats_user_request(&st, &r);
        fcs_req_free(&r);
    }
    tx.t_last.set = false;
    tx.has_end = true;
    tx.end_reason = FSD_END_COMPLETE;
    tx.http_status = 200;
    tx.user_status = 200;
    tx.user_outcome = FSD_USER_AS_ANSWERED;
    for (int i = 0; i < 3; i++) {
        tx.t_begin.ns = INT64_C(100000000000) + i;
        tx.t_begin.tag = 100 + (uint64_t)i;
        tx.t_end = (fsd_timepoint){tx.t_begin.ns + INT64_C(500000000) * (i + 1), 0, true};
        fcs_req_from_tx(&r, &tx, no_params, 0);
        fcs_stats_request(&st, &r);
        fcs_stats_user_request(&st, &r);
        fcs_req_free(&r);
    }
    tx.user_status = 504;
    tx.user_outcome = FSD_USER_GAVE_UP_TIMEOUT;
    fcs_req_from_tx(&r, &tx, no_params, 0);
    fcs_stats_request(&st, &r);
    fcs_stats_user_request(&st, &r);
    fcs_req_free(&r);

    size_t n = fcs_stats_incomplete(&st);
    CHECK(n == STATS_INCOMPLETE_KEPT, "kept %zu incomplete", n);
    bool order = true;
    for (size_t i = 0; i < n; i++)
        order &= st.incomplete_list[i].frame == i + 1;
    CHECK(order, "the earliest-starting incomplete requests, in start order (first frame %" PRIu64
                 ", last %" PRIu64 ")", st.incomplete_list[0].frame, st.incomplete_list[n - 1].frame);
    const req_rec *sl[3];
    size_t k = fcs_stats_slowest(&st, sl, 3);
    /* 1.5 s, 1.5 s (complete), then the incomplete one that ran 1.3 s, before
     * the complete ones of 1.0 s and 0.5 s */
    CHECK(k == 3 && sl[0]->complete && sl[0]->elapsed_ns == INT64_C(1500000000) && sl[1]->complete
              && sl[1]->elapsed_ns == INT64_C(1500000000) && !sl[2]->complete
              && sl[2]->elapsed_ns == INT64_C(1300000000),
          "slowest: incomplete ones count with their elapsed time (%" PRId64 " %d)",
          k > 2 ? sl[2]->elapsed_ns : 0, k > 2 ? sl[2]->complete : 0);
    const req_rec *w = fcs_stats_slowest_one(&st);
    CHECK(w && w->elapsed_ns == INT64_C(1500000000) && w->complete, "slowest one");
    CHECK(st.user_status[200] == 3 && st.user_status[504] == 1 && st.user_status[0] == 14
              && st.user_differs == 1 && st.user_outcomes[FSD_USER_GAVE_UP_TIMEOUT] == 1
              && st.user_outcomes[FSD_USER_UNKNOWN] == 14 && st.user_outcomes[FSD_USER_AS_ANSWERED] == 3,
          "user statuses (per user request, the decoder's user_status) and outcomes counted");
    fcs_stats_free(&st);
}
