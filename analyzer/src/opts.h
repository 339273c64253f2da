/* opts.h — the fcgiscope command line: parsed options and the usage text.
 *
 * The option names are a contract: analyzer/README.md "Usage" lists them.
 * POSIX Utility Syntax Guidelines (XBD 12.2) plus GNU long options.
 */
#ifndef FCGISCOPE_OPTS_H
#define FCGISCOPE_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* -f/--format: the reports (their names: opts.c formats[]; what each
 * writes: out.c format_ops[]). FMT_COUNT last. */
typedef enum out_format { FMT_TEXT = 0, FMT_JSON, FMT_CSV, FMT_HTML, FMT_COUNT } out_format;

#define OPTS_MAX_PORT_RANGES 64
#define OPTS_MAX_PARAMS 64
#define OPTS_MAX_HEADER_LIMIT 1048576u /* --max-header's ceiling (1 MiB) */

typedef struct port_range {
    uint16_t lo, hi;
} port_range;

typedef struct opts {
    out_format format;
    port_range ports[OPTS_MAX_PORT_RANGES];
    size_t nports;            /* 0: the default, 9000 */
    bool detect;              /* also recognise FastCGI on other ports (default on) */
    bool read_ahead;          /* read large capture files ahead on a second thread (default on) */
    const char *params[OPTS_MAX_PARAMS];
    size_t nparams;
    unsigned slowest;         /* default 10 */
    unsigned top_scripts;     /* default 10 */
    int fail_on;              /* 0 never, else the fsd_severity threshold (1 note .. 3 error) */
    const char *output;       /* NULL: stdout */
    bool quiet;
    int verbose;
    int color;                /* -1 auto, 0 never, 1 always */
    int progress;             /* -1 auto, 0 never, 1 always */
    bool help, version;
    const char *iface;        /* live mode */
    char *filter;             /* BPF filter (positional words after -i, joined) */
    const char **files;       /* offline inputs */
    size_t nfiles;
    uint64_t count;           /* -c: stop after that many requests (0: no limit) */
    double duration;          /* --duration seconds (0: no limit) */
    const char *user;         /* --user: drop root to this user after opening the device */
    int snaplen;              /* --snaplen (live) */
    uint32_t buffer_kib;      /* -B/--buffer-size: -i's kernel ring in KiB (0: default) */
    bool immediate;           /* --immediate: -i: a wake-up per packet */
    size_t max_pending;       /* --max-pending: records held for ordering (0: default) */
    uint32_t max_flows;       /* --max-flows: TCP flows tracked at once (0: default) */
    uint32_t max_header;      /* --max-header: the web server's largest CGI header block
                                 (bytes; 0: the decoder's default, 4096) */
    uint32_t upstream_timeout_ms; /* --upstream-timeout, in ms (0: the decoder's default) */
    const char *unix_path;    /* --unix: live capture of a listening Unix socket (eBPF) */
    const char *relay_path;   /* --relay: listen here, forward to relay_to, analyse what passes */
    const char *relay_to;     /* --to: the FastCGI server's socket (with --relay) */
    const char *write_file;   /* -w: live: also write the frames to this pcap file */
    bool latency_from_syn;    /* --latency from-syn: a connection's first request from its SYN */
    const char *metrics;      /* --metrics [ADDR:]PORT: live, Prometheus endpoint (metrics.h) */
    unsigned metrics_scripts; /* --metrics-scripts N: per-script series (0: none) */
    const char *host_name;    /* --host-name: "hostname" on every JSON/CSV line */
} opts;

/* Parse argv (argv[0] is the program). Returns 0, or -1 with a one-line
 * message in err (usage error: exit status 2). The strings in o point into
 * argv except filter (owned: fcs_opts_free). */
int fcs_opts_parse(opts *o, int argc, char **argv, char *err, size_t errlen);
void fcs_opts_free(opts *o);

/* Does port p belong to the list (the default list when empty)? */
bool fcs_opts_port_listed(const opts *o, uint16_t p);

/* Apply --max-header / --upstream-timeout to decoder limits (defaults already
 * filled): what the web server in front allows, used to tell what its client
 * got. A --max-header at or above max_cgi_header_bytes raises that cap past
 * it, so the decoder can still see a block of that size end. */
struct fsd_limits;
void fcs_opts_set_limits(const opts *o, struct fsd_limits *l);

/* The --help text. */
extern const char opts_usage[];

#endif
