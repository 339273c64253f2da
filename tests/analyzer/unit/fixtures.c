/* fixtures.c — what several unit suites build on: a command line from one string, hand-made transactions.
 */
#include <stdio.h>
#include <string.h>

#include "unit.h"

int passed, failed;

int parse(opts *o, const char *line, char *err, size_t errlen)
{
    static char buf[1024];
    static char *argv[64];
    snprintf(buf, sizeof buf, "fcgiscope %s", line);
    int argc = 0;
    for (char *t = strtok(buf, " "); t && argc < 63; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    return fcs_opts_parse(o, argc, argv, err, errlen);
}

const char *const no_params[1] = {NULL};

/* A transaction as the decoder would deliver it: BEGIN at 1 s (frame 7). */
fsd_transaction tx_base(void)
{
    fsd_transaction tx;
    memset(&tx, 0, sizeof tx);
    tx.request_id = 1;
    tx.role = FSD_RESPONDER;
    tx.method = (fsd_span){(const uint8_t *)"GET", 3};
    tx.uri = (fsd_span){(const uint8_t *)"/slow.php", 9};
    tx.t_begin = (fsd_timepoint){INT64_C(1000000000), 7, true};
    tx.closed_by = -1;
    tx.user_outcome = FSD_USER_UNKNOWN;
    return tx;
}

fsd_anomaly_event ev(fsd_anomaly_id id, fsd_severity sev)
{
    fsd_anomaly_event e;
    memset(&e, 0, sizeof e);
    e.id = id;
    e.severity = sev;
    e.in_transaction = true;
    return e;
}

/* Complete 200 the web server gave up on after 1 s (504), a client RST. */
fsd_transaction tx_abandoned(fsd_anomaly_event *evs)
{
    fsd_transaction tx = tx_base();
    tx.has_end = true;
    tx.end_reason = FSD_END_COMPLETE;
    tx.http_status = 200;
    tx.status_source = FSD_STATUS_HEADER;
    tx.user_status = 504;
    tx.user_outcome = FSD_USER_GAVE_UP_TIMEOUT;
    tx.cgi_header_bytes = 5000;
    tx.t_end = (fsd_timepoint){INT64_C(4000000001), 40, true};
    tx.t_close = (fsd_timepoint){INT64_C(2000000000), 20, true};
    tx.closed_by = FSD_DIR_CLIENT;
    tx.closed_by_reset = true;
    tx.t_abandoned = (fsd_timepoint){INT64_C(2000000000), 20, true};
    tx.gap = true;
    evs[0] = ev(FSD_A_end_without_stdout_eos, FSD_SEV_NOTE);
    evs[1] = ev(FSD_A_request_abandoned, FSD_SEV_WARNING);
    evs[2] = ev(FSD_A_request_abandoned, FSD_SEV_NOTE);
    evs[3] = ev(FSD_A_reserved_nonzero, FSD_SEV_NOTE);
    tx.anomalies = evs;
    tx.nanomalies = 4;
    return tx;
}
