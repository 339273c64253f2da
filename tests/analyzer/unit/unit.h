/* unit.h — what fcgiscope's unit suites share: CHECK, the fixtures, the suites.
 *
 * One executable (test_analyzer_units SUITE) runs one suite per analyzer
 * module (esc, hist, opts, fmt, out and report, rec, stats, orderq,
 * activeq, metrics) and prints
 * "N passed, N failed"; CTest runs each suite as analyzer_unit_SUITE.
 */
#ifndef FCGISCOPE_UNIT_H
#define FCGISCOPE_UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "fsd/fsd.h"
#include "opts.h"

extern int passed, failed;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (cond) {                                                          \
            passed++;                                                        \
        } else {                                                             \
            failed++;                                                        \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);             \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
        }                                                                    \
    } while (0)

/* fixtures.c */
/* fcs_opts_parse of "fcgiscope LINE", LINE split at spaces. */
int parse(opts *o, const char *line, char *err, size_t errlen);
extern const char *const no_params[1];
/* A transaction as the decoder would deliver it: BEGIN at 1 s (frame 7). */
fsd_transaction tx_base(void);
fsd_anomaly_event ev(fsd_anomaly_id id, fsd_severity sev);
/* Complete 200 the web server gave up on after 1 s (504), a client RST;
 * evs: room for its 4 anomalies. */
fsd_transaction tx_abandoned(fsd_anomaly_event *evs);

/* the suites, one per module */
void suite_esc(void);
void suite_hist(void);
void suite_opts(void);
void suite_fmt(void);
void suite_out(void);
void suite_report(void);
void suite_rec(void);
void suite_stats(void);
void suite_orderq(void);
void suite_activeq(void);
void suite_metrics(void);

#endif
