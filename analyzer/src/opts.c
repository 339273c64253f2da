/* opts.c — the fcgiscope command line: parsed options and the usage text.
 *
 * The option names, values and messages are a contract (analyzer/README.md
 * "Usage"); POSIX XBD 12.2 (short options, bundling, "--") and GNU long
 * options ("--name=value" or "--name value") through getopt_long(3). One
 * table, optdefs[], names each option and either the flag it sets or the
 * function that checks and stores its value; fcs_opts_parse() reads argv with
 * it, then checks that the options fit together (one input: files, -i,
 * --unix or --relay). A new option: its field in opts.h, its row (and
 * set_* function) here, its line in opts_usage and analyzer/README.md.
 */
#include "opts.h"

#include "fsd/fsd.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char opts_usage[] =
    "usage: fcgiscope [options] FILE...\n"
    "         analyze pcap/pcapng files (\"-\": stdin) as one timeline, in that order\n"
    "       fcgiscope [options] -i IFACE [FILTER]\n"
    "         live capture with an optional BPF filter until Ctrl-C, -c or --duration\n"
    "       fcgiscope [options] --unix PATH\n"
    "         live: every connection to the Unix socket PATH (e.g.\n"
    "         /run/php/php8.2-fpm.sock), captured by eBPF (root); options as with -i\n"
    "       fcgiscope [options] --relay LISTEN_PATH --to PATH\n"
    "         live, without eBPF: listen on the new Unix socket LISTEN_PATH,\n"
    "         forward each connection to PATH and analyse what passes (point the\n"
    "         web server at LISTEN_PATH); options as with -i\n"
    "\n"
    "  -p, --port LIST       FastCGI server ports, e.g. 9000,9001-9003 (default\n"
    "                        9000); connections on other ports are recognised from\n"
    "                        their first records unless --no-detect\n"
    "      --no-detect       only the listed ports\n"
    "  -f, --format FMT      text (default), json (one object per line), csv or\n"
    "                        html (one self-contained page, written at the end)\n"
    "      --param NAME      add that FastCGI param's value to every request\n"
    "                        (repeatable)\n"
    "      --slowest N       text, html: the N slowest requests (default 10, 0: none)\n"
    "      --top N           text, json, html: latency of the N busiest scripts\n"
    "                        (default 10; html: at least 100)\n"
    "      --fail-on SEV     exit 1 when an anomaly of severity SEV or higher is\n"
    "                        found: error, warning, note or never (default never)\n"
    "      --max-header BYTES\n"
    "                        the web server's largest response header block\n"
    "                        (default 4096, nginx's fastcgi_buffer_size); a reset\n"
    "                        after a bigger one: the user likely got 502\n"
    "      --upstream-timeout SECS\n"
    "                        the web server's read timeout (default 60, nginx's\n"
    "                        fastcgi_read_timeout): a request it gave up on after\n"
    "                        that long is a 504 to the user, sooner a 499\n"
    "  -o, --output FILE     write the report to FILE instead of standard output\n"
    "  -r, --read FILE       read FILE (same as a FILE operand)\n"
    "  -i, --interface IFACE live capture on IFACE (e.g. lo); words after it are\n"
    "                        the filter\n"
    "  -w, --write FILE      live: also write what was captured to FILE (pcap;\n"
    "                        --unix, --relay: synthetic TCP flows, see\n"
    "                        analyzer/README.md)\n"
    "  -c, --count N         live: stop after N requests\n"
    "      --duration SECS   live: stop after SECS seconds\n"
    "      --snaplen N       live: bytes captured per packet (default 262144)\n"
    "  -B, --buffer-size KIB -i: the kernel's capture buffer in KiB (default\n"
    "                        32768); packets wait there while fcgiscope is busy\n"
    "      --immediate       -i: hand over every packet at once (a wake-up per\n"
    "                        packet: lines ~0.1 s sooner, several times the CPU)\n"
    "      --metrics [ADDR:]PORT\n"
    "                        live: serve Prometheus metrics at\n"
    "                        http://ADDR:PORT/metrics (ADDR default 127.0.0.1)\n"
    "      --metrics-scripts N\n"
    "                        --metrics: per-script series for the first N scripts\n"
    "                        seen, the rest as \"other\" (default 0)\n"
    "      --host-name NAME  json, csv: a \"hostname\" field on every line (for\n"
    "                        loading many hosts' reports into one table)\n"
    "      --user NAME       live: after opening the device, run as NAME (default:\n"
    "                        nobody when started as root; \"root\" keeps root)\n"
    "      --color WHEN      auto (default: on a terminal, unless NO_COLOR),\n"
    "                        always, never\n"
    "      --progress WHEN   progress bar on stderr: auto (default), always, never\n"
    "      --max-pending N   records held back to write requests in start order\n"
    "                        (default 100000; past it the earliest is written anyway)\n"
    "      --max-flows N     TCP flows tracked at once (default 200000: at most\n"
    "                        ~1 GB at up to ~5 KB per connection with a request in\n"
    "                        flight); new flows past it are not analyzed\n"
    "                        (flow_table_full; the summary counts them)\n"
    "      --latency FROM    percentiles, slowest list: fcgi (default: BEGIN_REQUEST\n"
    "                        to END_REQUEST) or from-syn (a connection's first\n"
    "                        request from its first SYN: the connect included)\n"
    "      --no-read-ahead   read capture files on this thread only (by default\n"
    "                        classic pcap files of 2 MiB and more are read ahead on\n"
    "                        a second one)\n"
    "  -q, --quiet           no progress bar, no notes on stderr; text: summary only\n"
    "  -v, --verbose         text: TCP reassembly and decoder counters, notes on\n"
    "                        request lines, the first detail of every anomaly id\n"
    "  -h, --help            this text\n"
    "  -V, --version         version\n"
    "\n"
    "Exit status: 0 done, 1 the --fail-on threshold was met, 2 usage, file or\n"
    "device error.\n";

/* ---- one function per option: check the value, store it ---- */

static int fail(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Where a message goes (err, errlen of fcs_opts_parse). */
typedef struct msg {
    char *buf;
    size_t len;
} msg;

#define FAIL(m, ...) fail((m)->buf, (m)->len, __VA_ARGS__)

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

/* "PORT" or "LO-HI" (len bytes at p) into lo, hi. */
static int parse_port_item(const char *p, size_t n, uint64_t *lo, uint64_t *hi, msg *m)
{
    char item[32];
    memcpy(item, p, n);
    item[n] = '\0';
    char *dash = strchr(item, '-');
    if (dash) {
        *dash = '\0';
        if (!parse_u64(item, 65535, lo) || !parse_u64(dash + 1, 65535, hi) || *lo > *hi)
            return FAIL(m, "--port: bad range \"%.*s\" (want LO-HI, 1..65535)", (int)n, p);
    } else {
        if (!parse_u64(item, 65535, lo))
            return FAIL(m, "--port: bad port \"%s\" (want 1..65535)", item);
        *hi = *lo;
    }
    if (*lo == 0)
        return FAIL(m, "--port: port 0 is not a port");
    return 0;
}

static int set_port(opts *o, const char *s, msg *m)
{
    const char *p = s;
    if (!*p)
        return FAIL(m, "--port: empty list");
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        uint64_t lo, hi;
        if (n == 0 || n >= 32)
            return FAIL(m, "--port: bad item in \"%s\"", s);
        if (parse_port_item(p, n, &lo, &hi, m) != 0)
            return -1;
        if (o->nports >= OPTS_MAX_PORT_RANGES)
            return FAIL(m, "--port: more than %d items", OPTS_MAX_PORT_RANGES);
        o->ports[o->nports].lo = (uint16_t)lo;
        o->ports[o->nports].hi = (uint16_t)hi;
        o->nports++;
        p += n;
        if (*p == ',')
            p++;
        if (comma && !*p)
            return FAIL(m, "--port: trailing comma in \"%s\"", s);
    }
    return 0;
}

/* auto, always (yes), never (no) -> -1, 1, 0 */
static int parse_when(const char *name, const char *v, int *out, msg *m)
{
    if (!strcmp(v, "auto"))
        *out = -1;
    else if (!strcmp(v, "always") || !strcmp(v, "yes"))
        *out = 1;
    else if (!strcmp(v, "never") || !strcmp(v, "no"))
        *out = 0;
    else
        return FAIL(m, "--%s: want auto, always or never, not \"%s\"", name, v);
    return 0;
}

/* A value that must not be empty: "--NAME: empty WHAT". */
static int set_nonempty(const char **dst, const char *v, const char *name, const char *what,
                        msg *m)
{
    if (!*v)
        return FAIL(m, "--%s: empty %s", name, what);
    *dst = v;
    return 0;
}

/* -f/--format: the names of the out_format values (out.c format_ops[]
 * writes each). A new format adds its row here. */
static const struct {
    const char *name;
    out_format format;
} formats[] = {
    {"text", FMT_TEXT},
    {"json", FMT_JSON},
    {"csv", FMT_CSV},
    {"html", FMT_HTML},
};
#define NFORMATS (sizeof formats / sizeof formats[0])

static int set_format(opts *o, const char *v, msg *m)
{
    for (size_t k = 0; k < NFORMATS; k++)
        if (!strcmp(v, formats[k].name)) {
            o->format = formats[k].format;
            return 0;
        }
    char names[128] = ""; /* "text, json, csv or html" */
    for (size_t k = 0; k < NFORMATS; k++) {
        size_t n = strlen(names);
        snprintf(names + n, sizeof names - n, "%s%s",
                 k == 0 ? "" : k + 1 == NFORMATS ? " or " : ", ", formats[k].name);
    }
    return FAIL(m, "--format: want %s, not \"%s\"", names, v);
}

static int set_param(opts *o, const char *v, msg *m)
{
    if (!*v)
        return FAIL(m, "--param: empty name");
    if (o->nparams >= OPTS_MAX_PARAMS)
        return FAIL(m, "--param: more than %d names", OPTS_MAX_PARAMS);
    for (size_t i = 0; i < o->nparams; i++)
        if (!strcmp(o->params[i], v))
            return 0;
    o->params[o->nparams++] = v;
    return 0;
}

static int set_slowest(opts *o, const char *v, msg *m)
{
    uint64_t n;
    if (!parse_u64(v, 100000, &n))
        return FAIL(m, "--slowest: want a number 0..100000, not \"%s\"", v);
    o->slowest = (unsigned)n;
    return 0;
}

static int set_top(opts *o, const char *v, msg *m)
{
    uint64_t n;
    if (!parse_u64(v, 1000, &n))
        return FAIL(m, "--top: want a number 0..1000, not \"%s\"", v);
    o->top_scripts = (unsigned)n;
    return 0;
}

static int set_fail_on(opts *o, const char *v, msg *m)
{
    static const char *const names[] = {"never", "note", "warning", "error"}; /* 0..3 */
    for (int k = 0; k < 4; k++)
        if (!strcmp(v, names[k])) {
            o->fail_on = k;
            return 0;
        }
    return FAIL(m, "--fail-on: want error, warning, note or never, not \"%s\"", v);
}

static int set_output(opts *o, const char *v, msg *m)
{
    return set_nonempty(&o->output, v, "output", "file name", m);
}

static int set_read(opts *o, const char *v, msg *m)
{
    (void)m;
    o->files[o->nfiles++] = v;
    return 0;
}

static int set_iface(opts *o, const char *v, msg *m)
{
    return set_nonempty(&o->iface, v, "interface", "name", m);
}

static int set_count(opts *o, const char *v, msg *m)
{
    uint64_t n;
    if (!parse_u64(v, UINT64_MAX, &n) || n == 0)
        return FAIL(m, "--count: want a positive number, not \"%s\"", v);
    o->count = n;
    return 0;
}

static int set_duration(opts *o, const char *v, msg *m)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !(d > 0) || !isfinite(d) || d > 1e9)
        return FAIL(m, "--duration: want seconds > 0, not \"%s\"", v);
    o->duration = d;
    return 0;
}

static int set_snaplen(opts *o, const char *v, msg *m)
{
    uint64_t n;
    if (!parse_u64(v, 262144, &n) || n < 64)
        return FAIL(m, "--snaplen: want 64..262144, not \"%s\"", v);
    o->snaplen = (int)n;
    return 0;
}

static int set_buffer_size(opts *o, const char *v, msg *m)
{
    /* tcpdump's -B: KiB; at most what libpcap's int takes in bytes */
    uint64_t n;
    if (!parse_u64(v, 2097151, &n) || n < 256)
        return FAIL(m, "--buffer-size: want KiB 256..2097151, not \"%s\"", v);
    o->buffer_kib = (uint32_t)n;
    return 0;
}

static int set_user(opts *o, const char *v, msg *m)
{
    return set_nonempty(&o->user, v, "user", "name", m);
}

static int set_metrics(opts *o, const char *v, msg *m)
{
    return set_nonempty(&o->metrics, v, "metrics", "[ADDR:]PORT", m);
}

static int set_metrics_scripts(opts *o, const char *v, msg *m)
{
    uint64_t n;
    if (!parse_u64(v, 1000, &n))
        return FAIL(m, "--metrics-scripts: want a number 0..1000, not \"%s\"", v);
    o->metrics_scripts = (unsigned)n;
    return 0;
}

static int set_host_name(opts *o, const char *v, msg *m)
{
    return set_nonempty(&o->host_name, v, "host-name", "name", m);
}

static int set_color(opts *o, const char *v, msg *m)
{
    return parse_when("color", v, &o->color, m);
}

static int set_progress(opts *o, const char *v, msg *m)
{
    return parse_when("progress", v, &o->progress, m);
}

static int set_max_pending(opts *o, const char *v, msg *m)
{
    uint64_t n;
    if (!parse_u64(v, 100000000, &n) || n == 0)
        return FAIL(m, "--max-pending: want 1..100000000, not \"%s\"", v);
    o->max_pending = (size_t)n;
    return 0;
}

static int set_max_flows(opts *o, const char *v, msg *m)
{
    uint64_t n;
    if (!parse_u64(v, 100000000, &n) || n == 0)
        return FAIL(m, "--max-flows: want 1..100000000, not \"%s\"", v);
    o->max_flows = (uint32_t)n;
    return 0;
}

static int set_max_header(opts *o, const char *v, msg *m)
{
    uint64_t n;
    if (!parse_u64(v, OPTS_MAX_HEADER_LIMIT, &n) || n == 0)
        return FAIL(m, "--max-header: want bytes 1..%u, not \"%s\"", OPTS_MAX_HEADER_LIMIT, v);
    o->max_header = (uint32_t)n;
    return 0;
}

static int set_upstream_timeout(opts *o, const char *v, msg *m)
{
    char *end;
    errno = 0;
    double secs = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(secs) || !(secs >= 0.001) || secs > 86400)
        return FAIL(m, "--upstream-timeout: want seconds 0.001..86400, not \"%s\"", v);
    o->upstream_timeout_ms = (uint32_t)(secs * 1000 + 0.5);
    return 0;
}

static int set_unix(opts *o, const char *v, msg *m)
{
    return set_nonempty(&o->unix_path, v, "unix", "path", m);
}

static int set_relay(opts *o, const char *v, msg *m)
{
    return set_nonempty(&o->relay_path, v, "relay", "path", m);
}

static int set_to(opts *o, const char *v, msg *m)
{
    return set_nonempty(&o->relay_to, v, "to", "path", m);
}

static int set_write(opts *o, const char *v, msg *m)
{
    return set_nonempty(&o->write_file, v, "write", "file name", m);
}

static int set_latency(opts *o, const char *v, msg *m)
{
    if (!strcmp(v, "fcgi"))
        o->latency_from_syn = false;
    else if (!strcmp(v, "from-syn"))
        o->latency_from_syn = true;
    else
        return FAIL(m, "--latency: want fcgi or from-syn, not \"%s\"", v);
    return 0;
}

/* -v, repeatable: more detail each time. */
static int set_verbose(opts *o, const char *v, msg *m)
{
    (void)v, (void)m;
    o->verbose++;
    return 0;
}

/* ---- the option table ---- */

/* An option sets a flag (set NULL: the bool at flag_at becomes flag_to) or
 * has a function check and store its value. */
#define VALUE(fn) fn, 0, false
#define FLAG(field, to) NULL, offsetof(opts, field), to

static const struct optdef {
    const char *name;
    char shortc;              /* 0: long only */
    bool arg;                 /* takes a value */
    int (*set)(opts *o, const char *v, msg *m);
    size_t flag_at;
    bool flag_to;
} optdefs[] = {
    {"port", 'p', true, VALUE(set_port)},
    {"no-detect", 0, false, FLAG(detect, false)},
    {"format", 'f', true, VALUE(set_format)},
    {"param", 0, true, VALUE(set_param)},
    {"slowest", 0, true, VALUE(set_slowest)},
    {"top", 0, true, VALUE(set_top)},
    {"fail-on", 0, true, VALUE(set_fail_on)},
    {"output", 'o', true, VALUE(set_output)},
    {"read", 'r', true, VALUE(set_read)},
    {"interface", 'i', true, VALUE(set_iface)},
    {"count", 'c', true, VALUE(set_count)},
    {"duration", 0, true, VALUE(set_duration)},
    {"snaplen", 0, true, VALUE(set_snaplen)},
    {"buffer-size", 'B', true, VALUE(set_buffer_size)},
    {"immediate", 0, false, FLAG(immediate, true)},
    {"user", 0, true, VALUE(set_user)},
    {"color", 0, true, VALUE(set_color)},
    {"colour", 0, true, VALUE(set_color)},
    {"progress", 0, true, VALUE(set_progress)},
    {"quiet", 'q', false, FLAG(quiet, true)},
    {"verbose", 'v', false, VALUE(set_verbose)},
    {"help", 'h', false, FLAG(help, true)},
    {"version", 'V', false, FLAG(version, true)},
    {"max-pending", 0, true, VALUE(set_max_pending)},
    {"max-flows", 0, true, VALUE(set_max_flows)},
    {"no-read-ahead", 0, false, FLAG(read_ahead, false)},
    {"max-header", 0, true, VALUE(set_max_header)},
    {"upstream-timeout", 0, true, VALUE(set_upstream_timeout)},
    {"unix", 0, true, VALUE(set_unix)},
    {"relay", 0, true, VALUE(set_relay)},
    {"to", 0, true, VALUE(set_to)},
    {"write", 'w', true, VALUE(set_write)},
    {"latency", 0, true, VALUE(set_latency)},
    {"metrics", 0, true, VALUE(set_metrics)},
    {"metrics-scripts", 0, true, VALUE(set_metrics_scripts)},
    {"host-name", 0, true, VALUE(set_host_name)},
};
#define NOPTDEFS (sizeof optdefs / sizeof optdefs[0])
#define LONG_VAL 256 /* getopt_long's value for optdefs[k]: LONG_VAL + k */

/* getopt_long's tables from optdefs: "-:" (operands returned in order as 1,
 * ':' for a missing value, no messages of its own) and the short letters. */
static void getopt_tables(char *shorts, struct option *longs)
{
    size_t n = 0;
    shorts[n++] = '-';
    shorts[n++] = ':';
    for (size_t k = 0; k < NOPTDEFS; k++) {
        const struct optdef *d = &optdefs[k];
        longs[k] = (struct option){d->name, d->arg ? required_argument : no_argument, NULL,
                                   (int)(LONG_VAL + k)};
        if (d->shortc) {
            shorts[n++] = d->shortc;
            if (d->arg)
                shorts[n++] = ':';
        }
    }
    shorts[n] = '\0';
    longs[NOPTDEFS] = (struct option){NULL, 0, NULL, 0};
}

static const struct optdef *by_short(int c)
{
    for (size_t k = 0; k < NOPTDEFS; k++)
        if (optdefs[k].shortc && optdefs[k].shortc == c)
            return &optdefs[k];
    return NULL;
}

/* "--name" or "--name=value" in word: the option of exactly that name
 * (getopt_long also takes unique abbreviations; the names are a contract,
 * so they are taken whole only). */
static const struct optdef *by_long(const char *word, size_t *namelen)
{
    const char *name = word + 2;
    const char *eq = strchr(name, '=');
    size_t nl = eq ? (size_t)(eq - name) : strlen(name);
    *namelen = nl;
    for (size_t k = 0; k < NOPTDEFS; k++)
        if (strlen(optdefs[k].name) == nl && !strncmp(optdefs[k].name, name, nl))
            return &optdefs[k];
    return NULL;
}

/* What getopt_long refused (c: '?' unknown or unwanted value, ':' missing
 * value), as our message. word: the argument it was reading. */
static int refused(int c, const char *word, msg *m)
{
    bool is_long = word && word[0] == '-' && word[1] == '-';
    if (!is_long) {
        if (c == ':')
            return FAIL(m, "option -%c needs a value", optopt);
        return FAIL(m, "unknown option -%c", optopt);
    }
    size_t nl;
    const struct optdef *d = by_long(word, &nl);
    if (!d)
        return FAIL(m, "unknown option --%.*s", (int)nl, word + 2);
    if (c == ':')
        return FAIL(m, "option --%s needs a value", d->name);
    return FAIL(m, "option --%s takes no value", d->name);
}

/* Read argv: each option applied in turn, the operands (files, or -i's
 * filter words) into words in their order. Stops at the first error. */
static int read_argv(opts *o, int argc, char **argv, const char **words, size_t *nwords, msg *m)
{
    char shorts[2 + 2 * NOPTDEFS + 1];
    struct option longs[NOPTDEFS + 1];
    getopt_tables(shorts, longs);
    opterr = 0;
    optind = 0; /* glibc: start afresh (tests parse many command lines) */
    for (;;) {
        int at = optind ? optind : 1; /* where a long option's word is */
        int c = getopt_long(argc, argv, shorts, longs, NULL);
        if (c == -1)
            break;
        if (c == 1) {
            words[(*nwords)++] = optarg;
            continue;
        }
        const struct optdef *d = NULL;
        if (c >= LONG_VAL) {
            size_t nl;
            d = by_long(argv[at], &nl);
            if (d != &optdefs[c - LONG_VAL]) /* an abbreviation */
                return FAIL(m, "unknown option --%.*s", (int)nl, argv[at] + 2);
        } else if (c != '?' && c != ':') {
            d = by_short(c);
        }
        if (!d) /* '?', ':' (or '-' in a bundle: not an option) */
            return c == '?' || c == ':' ? refused(c, at < argc ? argv[at] : NULL, m)
                                        : FAIL(m, "unknown option -%c", c);
        if (!d->set)
            *(bool *)((char *)o + d->flag_at) = d->flag_to;
        else if (d->set(o, d->arg ? optarg : NULL, m) != 0)
            return -1;
    }
    for (int i = optind; i < argc; i++) /* after "--" */
        words[(*nwords)++] = argv[i];
    return 0;
}

/* ---- do the options fit together ---- */

/* --relay LISTEN_PATH --to PATH: nothing else to read. */
static int check_relay(const opts *o, size_t nwords, msg *m)
{
    if (!o->relay_to)
        return FAIL(m, "--relay needs --to PATH (the FastCGI server's socket)");
    if (o->unix_path || o->iface || o->nfiles || nwords)
        return FAIL(m, "--relay takes no --unix, -i, capture file or filter");
    if (o->buffer_kib || o->immediate)
        return FAIL(m, "-B/--buffer-size and --immediate are for -i");
    return 0;
}

static int check_unix(const opts *o, size_t nwords, msg *m)
{
    if (o->iface || o->nfiles || nwords)
        return FAIL(m, "--unix takes no -i, capture file or filter");
    if (o->buffer_kib || o->immediate)
        return FAIL(m, "-B/--buffer-size and --immediate are for -i (--unix reads "
                    "its own ring buffer)");
    return 0;
}

/* -i IFACE [FILTER...]: the words after it are the filter, joined by spaces. */
static int take_filter(opts *o, const char **words, size_t nwords, msg *m)
{
    if (o->nfiles)
        return FAIL(m, "-i and -r cannot be combined");
    if (!nwords)
        return 0;
    size_t len = 1;
    for (size_t k = 0; k < nwords; k++)
        len += strlen(words[k]) + 1;
    o->filter = malloc(len);
    if (!o->filter)
        return FAIL(m, "out of memory");
    o->filter[0] = '\0';
    for (size_t k = 0; k < nwords; k++) {
        if (k)
            strcat(o->filter, " ");
        strcat(o->filter, words[k]);
    }
    return 0;
}

/* Capture files (the words after the -r files): none of the live options. */
static int take_files(opts *o, const char **words, size_t nwords, msg *m)
{
    for (size_t k = 0; k < nwords; k++)
        o->files[o->nfiles++] = words[k];
    size_t stdin_uses = 0;
    for (size_t k = 0; k < o->nfiles; k++)
        stdin_uses += !strcmp(o->files[k], "-");
    if (o->nfiles == 0)
        return FAIL(m, "no capture file given (FILE... or -i IFACE)");
    if (stdin_uses > 1)
        return FAIL(m, "\"-\" (stdin) can be read only once");
    if (o->count)
        return FAIL(m, "-c/--count is for live capture (-i)");
    if (o->duration > 0)
        return FAIL(m, "--duration is for live capture (-i)");
    if (o->write_file)
        return FAIL(m, "-w/--write is for live capture (-i, --unix or --relay)");
    if (o->buffer_kib)
        return FAIL(m, "-B/--buffer-size is for live capture (-i)");
    if (o->immediate)
        return FAIL(m, "--immediate is for live capture (-i)");
    if (o->metrics)
        return FAIL(m, "--metrics is for live capture (-i, --unix or --relay)");
    return 0;
}

static int check_input(opts *o, const char **words, size_t nwords, msg *m)
{
    if (o->help || o->version)
        return 0;
    if (o->relay_to && !o->relay_path)
        return FAIL(m, "--to is for --relay LISTEN_PATH --to PATH");
    if (o->metrics_scripts && !o->metrics)
        return FAIL(m, "--metrics-scripts is for --metrics");
    if (o->host_name && o->format != FMT_JSON && o->format != FMT_CSV)
        return FAIL(m, "--host-name is for -f json and -f csv");
    if (o->relay_path)
        return check_relay(o, nwords, m);
    if (o->unix_path)
        return check_unix(o, nwords, m);
    if (o->iface)
        return take_filter(o, words, nwords, m);
    return take_files(o, words, nwords, m);
}

static void set_defaults(opts *o)
{
    memset(o, 0, sizeof *o);
    o->detect = true;
    o->read_ahead = true;
    o->slowest = 10;
    o->top_scripts = 10;
    o->color = -1;
    o->progress = -1;
}

int fcs_opts_parse(opts *o, int argc, char **argv, char *err, size_t errlen)
{
    msg m = { err, errlen };
    set_defaults(o);
    if (errlen)
        err[0] = '\0';
    o->files = calloc((size_t)(argc > 0 ? argc : 1), sizeof *o->files);
    if (!o->files)
        return FAIL(&m, "out of memory");
    const char **words = calloc((size_t)(argc > 0 ? argc : 1), sizeof *words);
    if (!words)
        return FAIL(&m, "out of memory");
    size_t nwords = 0;
    int rc = read_argv(o, argc, argv, words, &nwords, &m);
    if (rc == 0)
        rc = check_input(o, words, nwords, &m);
    free(words);
    return rc;
}

void fcs_opts_free(opts *o)
{
    free(o->filter);
    free(o->files);
    o->filter = NULL;
    o->files = NULL;
}

bool fcs_opts_port_listed(const opts *o, uint16_t p)
{
    if (o->nports == 0)
        return p == 9000;
    for (size_t i = 0; i < o->nports; i++)
        if (p >= o->ports[i].lo && p <= o->ports[i].hi)
            return true;
    return false;
}

void fcs_opts_set_limits(const opts *o, struct fsd_limits *l)
{
    if (o->max_header) {
        l->web_server_header_bytes = o->max_header;
        if (l->max_cgi_header_bytes <= o->max_header)
            l->max_cgi_header_bytes = o->max_header + 1;
    }
    if (o->upstream_timeout_ms)
        l->upstream_timeout_ms = o->upstream_timeout_ms;
}
