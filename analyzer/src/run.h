/* run.h — one analysis from an open capture to a written report (the whole path the fuzz target drives).
 *
 * The exit statuses and outputs are described in analyzer/README.md
 * ("Usage", "Output formats"). This is the whole capture path in one call
 * (capture bytes -> libpcap -> link/IP/TCP -> decoder -> report), which
 * tests/analyzer/fuzz_analyzer.c drives. main.c opens the capture and the
 * output, handles signals, privileges and the progress bar; this runs the
 * loop.
 */
#ifndef FCGISCOPE_RUN_H
#define FCGISCOPE_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "capture.h"
#include "metrics.h"
#include "opts.h"
#include "pcapw.h"

typedef struct run_params {
    const opts *o;
    fcs_capture *cap;
    FILE *out;
    bool live;                          /* write each record when it completes */
    pcapw *dump;                        /* -w: every frame also written there (NULL: none) */
    fcs_metrics *metrics;               /* --metrics: counted per request and at each flush */
    uint64_t *requests_out;             /* set to the requests seen (NULL: not wanted) */
    bool color, utf8;
    unsigned width;                     /* terminal columns (text tables), 0: unknown */
    bool stderr_notes;                  /* damage warnings and notes on stderr */
    volatile sig_atomic_t *stop;        /* nonzero: stop reading (the signal number) */
    volatile sig_atomic_t *alarm;       /* nonzero: --duration is over */
    /* called every 1024 packets (progress bar) */
    void (*progress)(void *ud, fcs_capture *cap, uint64_t requests);
    void (*progress_done)(void *ud);
    void *ud;
} run_params;

/* Analyze everything the capture delivers and write the report. Returns the
 * exit status: 0, 1 (--fail-on met) or 2 (fatal capture error or a write
 * error, message on stderr when stderr_notes). The capture is not closed. */
int fcs_run_analysis(const run_params *rp);

#endif
