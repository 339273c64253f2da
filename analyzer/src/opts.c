/* opts.c — the fcgiscope command line: parsed options and the usage text.
 *
 * Normative reference: issue 4 "Interface"; POSIX XBD 12.2 (short options,
 * bundling, "--") and GNU long options ("--name=value" or "--name value").
 * A small parser of our own: no global state, so tests can run it many times.
 */
#include "opts.h"

#include "fsd/fsd.h"

#include <errno.h>
#include <math.h>
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
    "      --slowest N       text: the N slowest requests (default 10, 0: none)\n"
    "      --top N           text: latency of the N busiest scripts (default 10)\n"
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

enum opt_id {
    O_PORT = 1, O_NODETECT, O_FORMAT, O_PARAM, O_SLOWEST, O_TOP, O_FAILON, O_OUTPUT, O_READ,
    O_IFACE, O_COUNT, O_DURATION, O_SNAPLEN, O_USER, O_COLOR, O_PROGRESS, O_QUIET, O_VERBOSE,
    O_HELP, O_VERSION, O_MAXPENDING, O_MAXFLOWS, O_NOREADAHEAD, O_MAXHEADER, O_UPTIMEOUT,
    O_UNIX, O_WRITE, O_RELAY, O_TO,
    O_LATENCY, O_BUFSIZE, O_IMMEDIATE
};

static const struct optdef {
    const char *name;
    char shortc;
    bool arg;
    enum opt_id id;
} optdefs[] = {
    {"port", 'p', true, O_PORT},
    {"no-detect", 0, false, O_NODETECT},
    {"format", 'f', true, O_FORMAT},
    {"param", 0, true, O_PARAM},
    {"slowest", 0, true, O_SLOWEST},
    {"top", 0, true, O_TOP},
    {"fail-on", 0, true, O_FAILON},
    {"output", 'o', true, O_OUTPUT},
    {"read", 'r', true, O_READ},
    {"interface", 'i', true, O_IFACE},
    {"count", 'c', true, O_COUNT},
    {"duration", 0, true, O_DURATION},
    {"snaplen", 0, true, O_SNAPLEN},
    {"buffer-size", 'B', true, O_BUFSIZE},
    {"immediate", 0, false, O_IMMEDIATE},
    {"user", 0, true, O_USER},
    {"color", 0, true, O_COLOR},
    {"colour", 0, true, O_COLOR},
    {"progress", 0, true, O_PROGRESS},
    {"quiet", 'q', false, O_QUIET},
    {"verbose", 'v', false, O_VERBOSE},
    {"help", 'h', false, O_HELP},
    {"version", 'V', false, O_VERSION},
    {"max-pending", 0, true, O_MAXPENDING},
    {"max-flows", 0, true, O_MAXFLOWS},
    {"no-read-ahead", 0, false, O_NOREADAHEAD},
    {"max-header", 0, true, O_MAXHEADER},
    {"upstream-timeout", 0, true, O_UPTIMEOUT},
    {"unix", 0, true, O_UNIX},
    {"relay", 0, true, O_RELAY},
    {"to", 0, true, O_TO},
    {"write", 'w', true, O_WRITE},
    {"latency", 0, true, O_LATENCY},
};
#define NOPTDEFS (sizeof optdefs / sizeof optdefs[0])

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

static int parse_ports(opts *o, const char *s, char *err, size_t errlen)
{
    const char *p = s;
    if (!*p)
        return fail(err, errlen, "--port: empty list");
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char item[32];
        if (n == 0 || n >= sizeof item)
            return fail(err, errlen, "--port: bad item in \"%s\"", s);
        memcpy(item, p, n);
        item[n] = '\0';
        char *dash = strchr(item, '-');
        uint64_t lo, hi;
        if (dash) {
            *dash = '\0';
            if (!parse_u64(item, 65535, &lo) || !parse_u64(dash + 1, 65535, &hi) || lo > hi)
                return fail(err, errlen, "--port: bad range \"%.*s\" (want LO-HI, 1..65535)",
                            (int)n, p);
        } else {
            if (!parse_u64(item, 65535, &lo))
                return fail(err, errlen, "--port: bad port \"%s\" (want 1..65535)", item);
            hi = lo;
        }
        if (lo == 0)
            return fail(err, errlen, "--port: port 0 is not a port");
        if (o->nports >= OPTS_MAX_PORT_RANGES)
            return fail(err, errlen, "--port: more than %d items", OPTS_MAX_PORT_RANGES);
        o->ports[o->nports].lo = (uint16_t)lo;
        o->ports[o->nports].hi = (uint16_t)hi;
        o->nports++;
        p += n;
        if (*p == ',')
            p++;
        if (comma && !*p)
            return fail(err, errlen, "--port: trailing comma in \"%s\"", s);
    }
    return 0;
}

static int parse_when(const char *name, const char *v, int *out, char *err, size_t errlen)
{
    if (!strcmp(v, "auto"))
        *out = -1;
    else if (!strcmp(v, "always") || !strcmp(v, "yes"))
        *out = 1;
    else if (!strcmp(v, "never") || !strcmp(v, "no"))
        *out = 0;
    else
        return fail(err, errlen, "--%s: want auto, always or never, not \"%s\"", name, v);
    return 0;
}

static int apply(opts *o, const struct optdef *d, const char *v, char *err, size_t errlen)
{
    uint64_t n;
    switch (d->id) {
    case O_PORT:
        return parse_ports(o, v, err, errlen);
    case O_NODETECT:
        o->detect = false;
        return 0;
    case O_FORMAT:
        if (!strcmp(v, "text"))
            o->format = FMT_TEXT;
        else if (!strcmp(v, "json"))
            o->format = FMT_JSON;
        else if (!strcmp(v, "csv"))
            o->format = FMT_CSV;
        else if (!strcmp(v, "html"))
            o->format = FMT_HTML;
        else
            return fail(err, errlen, "--format: want text, json, csv or html, not \"%s\"", v);
        return 0;
    case O_PARAM:
        if (!*v)
            return fail(err, errlen, "--param: empty name");
        if (o->nparams >= OPTS_MAX_PARAMS)
            return fail(err, errlen, "--param: more than %d names", OPTS_MAX_PARAMS);
        for (size_t i = 0; i < o->nparams; i++)
            if (!strcmp(o->params[i], v))
                return 0;
        o->params[o->nparams++] = v;
        return 0;
    case O_SLOWEST:
        if (!parse_u64(v, 100000, &n))
            return fail(err, errlen, "--slowest: want a number 0..100000, not \"%s\"", v);
        o->slowest = (unsigned)n;
        return 0;
    case O_TOP:
        if (!parse_u64(v, 1000, &n))
            return fail(err, errlen, "--top: want a number 0..1000, not \"%s\"", v);
        o->top_scripts = (unsigned)n;
        return 0;
    case O_FAILON:
        if (!strcmp(v, "never"))
            o->fail_on = 0;
        else if (!strcmp(v, "note"))
            o->fail_on = 1;
        else if (!strcmp(v, "warning"))
            o->fail_on = 2;
        else if (!strcmp(v, "error"))
            o->fail_on = 3;
        else
            return fail(err, errlen, "--fail-on: want error, warning, note or never, not \"%s\"", v);
        return 0;
    case O_OUTPUT:
        if (!*v)
            return fail(err, errlen, "--output: empty file name");
        o->output = v;
        return 0;
    case O_READ:
        o->files[o->nfiles++] = v;
        return 0;
    case O_IFACE:
        if (!*v)
            return fail(err, errlen, "--interface: empty name");
        o->iface = v;
        return 0;
    case O_COUNT:
        if (!parse_u64(v, UINT64_MAX, &n) || n == 0)
            return fail(err, errlen, "--count: want a positive number, not \"%s\"", v);
        o->count = n;
        return 0;
    case O_DURATION: {
        char *end;
        errno = 0;
        double d2 = strtod(v, &end);
        if (errno || end == v || *end || !(d2 > 0) || !isfinite(d2) || d2 > 1e9)
            return fail(err, errlen, "--duration: want seconds > 0, not \"%s\"", v);
        o->duration = d2;
        return 0;
    }
    case O_SNAPLEN:
        if (!parse_u64(v, 262144, &n) || n < 64)
            return fail(err, errlen, "--snaplen: want 64..262144, not \"%s\"", v);
        o->snaplen = (int)n;
        return 0;
    case O_BUFSIZE:
        /* tcpdump's -B: KiB; at most what libpcap's int takes in bytes */
        if (!parse_u64(v, 2097151, &n) || n < 256)
            return fail(err, errlen, "--buffer-size: want KiB 256..2097151, not \"%s\"", v);
        o->buffer_kib = (uint32_t)n;
        return 0;
    case O_IMMEDIATE:
        o->immediate = true;
        return 0;
    case O_USER:
        if (!*v)
            return fail(err, errlen, "--user: empty name");
        o->user = v;
        return 0;
    case O_COLOR:
        return parse_when("color", v, &o->color, err, errlen);
    case O_PROGRESS:
        return parse_when("progress", v, &o->progress, err, errlen);
    case O_QUIET:
        o->quiet = true;
        return 0;
    case O_VERBOSE:
        o->verbose++;
        return 0;
    case O_HELP:
        o->help = true;
        return 0;
    case O_VERSION:
        o->version = true;
        return 0;
    case O_MAXPENDING:
        if (!parse_u64(v, 100000000, &n) || n == 0)
            return fail(err, errlen, "--max-pending: want 1..100000000, not \"%s\"", v);
        o->max_pending = (size_t)n;
        return 0;
    case O_MAXFLOWS:
        if (!parse_u64(v, 100000000, &n) || n == 0)
            return fail(err, errlen, "--max-flows: want 1..100000000, not \"%s\"", v);
        o->max_flows = (uint32_t)n;
        return 0;
    case O_NOREADAHEAD:
        o->read_ahead = false;
        return 0;
    case O_MAXHEADER:
        if (!parse_u64(v, OPTS_MAX_HEADER_LIMIT, &n) || n == 0)
            return fail(err, errlen, "--max-header: want bytes 1..%u, not \"%s\"",
                        OPTS_MAX_HEADER_LIMIT, v);
        o->max_header = (uint32_t)n;
        return 0;
    case O_UPTIMEOUT: {
        char *end;
        errno = 0;
        double secs = strtod(v, &end);
        if (errno || end == v || *end || !isfinite(secs) || !(secs >= 0.001) || secs > 86400)
            return fail(err, errlen, "--upstream-timeout: want seconds 0.001..86400, not \"%s\"",
                        v);
        o->upstream_timeout_ms = (uint32_t)(secs * 1000 + 0.5);
        return 0;
    }
    case O_UNIX:
        if (!*v)
            return fail(err, errlen, "--unix: empty path");
        o->unix_path = v;
        return 0;
    case O_RELAY:
        if (!*v)
            return fail(err, errlen, "--relay: empty path");
        o->relay_path = v;
        return 0;
    case O_TO:
        if (!*v)
            return fail(err, errlen, "--to: empty path");
        o->relay_to = v;
        return 0;
    case O_WRITE:
        if (!*v)
            return fail(err, errlen, "--write: empty file name");
        o->write_file = v;
        return 0;
    case O_LATENCY:
        if (!strcmp(v, "fcgi"))
            o->latency_from_syn = false;
        else if (!strcmp(v, "from-syn"))
            o->latency_from_syn = true;
        else
            return fail(err, errlen, "--latency: want fcgi or from-syn, not \"%s\"", v);
        return 0;
    }
    return fail(err, errlen, "internal: unknown option");
}

int opts_parse(opts *o, int argc, char **argv, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->detect = true;
    o->read_ahead = true;
    o->slowest = 10;
    o->top_scripts = 10;
    o->color = -1;
    o->progress = -1;
    if (errlen)
        err[0] = '\0';
    o->files = calloc((size_t)(argc > 0 ? argc : 1), sizeof *o->files);
    if (!o->files)
        return fail(err, errlen, "out of memory");
    const char **words = calloc((size_t)(argc > 0 ? argc : 1), sizeof *words);
    if (!words)
        return fail(err, errlen, "out of memory");
    size_t nwords = 0;
    bool only_operands = false;
    int rc = 0;

    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (only_operands || a[0] != '-' || !strcmp(a, "-")) {
            words[nwords++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_operands = true;
            continue;
        }
        if (a[1] == '-') { /* --name[=value] */
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t nl = eq ? (size_t)(eq - name) : strlen(name);
            const struct optdef *d = NULL;
            for (size_t k = 0; k < NOPTDEFS; k++)
                if (strlen(optdefs[k].name) == nl && !strncmp(optdefs[k].name, name, nl))
                    d = &optdefs[k];
            if (!d) {
                rc = fail(err, errlen, "unknown option --%.*s", (int)nl, name);
                break;
            }
            const char *v = NULL;
            if (d->arg) {
                if (eq)
                    v = eq + 1;
                else if (i + 1 < argc)
                    v = argv[++i];
                else {
                    rc = fail(err, errlen, "option --%s needs a value", d->name);
                    break;
                }
            } else if (eq) {
                rc = fail(err, errlen, "option --%s takes no value", d->name);
                break;
            }
            rc = apply(o, d, v, err, errlen);
            continue;
        }
        /* -abc bundles; an option with a value takes the rest or the next word */
        for (const char *p = a + 1; *p && rc == 0; p++) {
            const struct optdef *d = NULL;
            for (size_t k = 0; k < NOPTDEFS; k++)
                if (optdefs[k].shortc && optdefs[k].shortc == *p)
                    d = &optdefs[k];
            if (!d) {
                rc = fail(err, errlen, "unknown option -%c", *p);
                break;
            }
            if (!d->arg) {
                rc = apply(o, d, NULL, err, errlen);
                continue;
            }
            const char *v;
            if (p[1])
                v = p + 1;
            else if (i + 1 < argc)
                v = argv[++i];
            else {
                rc = fail(err, errlen, "option -%c needs a value", *p);
                break;
            }
            rc = apply(o, d, v, err, errlen);
            break;
        }
    }

    if (rc == 0 && !o->help && !o->version && o->relay_to && !o->relay_path) {
        rc = fail(err, errlen, "--to is for --relay LISTEN_PATH --to PATH");
    } else if (rc == 0 && !o->help && !o->version && o->relay_path) {
        if (!o->relay_to)
            rc = fail(err, errlen, "--relay needs --to PATH (the FastCGI server's socket)");
        else if (o->unix_path || o->iface || o->nfiles || nwords)
            rc = fail(err, errlen, "--relay takes no --unix, -i, capture file or filter");
        else if (o->buffer_kib || o->immediate)
            rc = fail(err, errlen, "-B/--buffer-size and --immediate are for -i");
    } else if (rc == 0 && !o->help && !o->version && o->unix_path) {
        if (o->iface || o->nfiles || nwords)
            rc = fail(err, errlen, "--unix takes no -i, capture file or filter");
        else if (o->buffer_kib || o->immediate)
            rc = fail(err, errlen, "-B/--buffer-size and --immediate are for -i (--unix reads "
                      "its own ring buffer)");
    } else if (rc == 0 && !o->help && !o->version) {
        if (o->iface) {
            if (o->nfiles) {
                rc = fail(err, errlen, "-i and -r cannot be combined");
            } else if (nwords) { /* the filter */
                size_t len = 1;
                for (size_t k = 0; k < nwords; k++)
                    len += strlen(words[k]) + 1;
                o->filter = malloc(len);
                if (!o->filter) {
                    rc = fail(err, errlen, "out of memory");
                } else {
                    o->filter[0] = '\0';
                    for (size_t k = 0; k < nwords; k++) {
                        if (k)
                            strcat(o->filter, " ");
                        strcat(o->filter, words[k]);
                    }
                }
            }
        } else {
            for (size_t k = 0; k < nwords; k++)
                o->files[o->nfiles++] = words[k];
            size_t stdin_uses = 0;
            for (size_t k = 0; k < o->nfiles; k++)
                stdin_uses += !strcmp(o->files[k], "-");
            if (o->nfiles == 0)
                rc = fail(err, errlen, "no capture file given (FILE... or -i IFACE)");
            else if (stdin_uses > 1)
                rc = fail(err, errlen, "\"-\" (stdin) can be read only once");
            else if (o->count)
                rc = fail(err, errlen, "-c/--count is for live capture (-i)");
            else if (o->duration > 0)
                rc = fail(err, errlen, "--duration is for live capture (-i)");
            else if (o->write_file)
                rc = fail(err, errlen, "-w/--write is for live capture (-i, --unix or --relay)");
            else if (o->buffer_kib)
                rc = fail(err, errlen, "-B/--buffer-size is for live capture (-i)");
            else if (o->immediate)
                rc = fail(err, errlen, "--immediate is for live capture (-i)");
        }
    }
    free(words);
    return rc;
}

void opts_free(opts *o)
{
    free(o->filter);
    free(o->files);
    o->filter = NULL;
    o->files = NULL;
}

bool opts_port_listed(const opts *o, uint16_t p)
{
    if (o->nports == 0)
        return p == 9000;
    for (size_t i = 0; i < o->nports; i++)
        if (p >= o->ports[i].lo && p <= o->ports[i].hi)
            return true;
    return false;
}

void opts_set_limits(const opts *o, struct fsd_limits *l)
{
    if (o->max_header) {
        l->web_server_header_bytes = o->max_header;
        if (l->max_cgi_header_bytes <= o->max_header)
            l->max_cgi_header_bytes = o->max_header + 1;
    }
    if (o->upstream_timeout_ms)
        l->upstream_timeout_ms = o->upstream_timeout_ms;
}
