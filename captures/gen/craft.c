/* craft.c — writes the crafted FastCGI captures and their expected results (captures/crafted/).
 *
 * Normative reference: ../shared/docs/FASTCGI.md (anomaly catalogue, timing
 * points), captures/EXPECT.md (expected-result schema), FastCGI 1.0 spec.
 *
 * Usage: fcgiscope-craft OUTDIR
 *
 * Deterministic: fixed timestamps (from 2026-01-01T00:00:00Z), fixed
 * addresses from the documentation ranges (192.0.2.0/24, 198.51.100.0/24,
 * 2001:db8::/32), fixed sequence numbers; no randomness. Running it twice
 * gives byte-identical files.
 *
 * Each scenario writes <name>.pcap|pcapng and <name>.expect.json. Timing
 * points are recorded while writing the packets that carry them:
 *   t_begin          packet with the first byte of BEGIN_REQUEST
 *   t_request_sent   packet with the end of the last client stream
 *   t_first_response packet with the first byte of the first STDOUT/STDERR record
 *   t_end            packet with the last byte of END_REQUEST
 */
#define _POSIX_C_SOURCE 200809L
#include "fcgiw.h"
#include "netw.h"
#include "pcapw.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0_NS (1767225600LL * 1000000000LL) /* 2026-01-01T00:00:00Z */
#define US 1000LL
#define MS 1000000LL

#define CLIENT_IP "192.0.2.10"
#define SERVER_IP "198.51.100.20"
#define CLIENT_IP6 "2001:db8::10"
#define SERVER_IP6 "2001:db8:0:1::20"
#define FCGI_PORT 9000

static const char *g_outdir;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fcgiscope-craft: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

/* ======================================================================
 * Expected results
 * ==================================================================== */

#define MAX_IDS 24
#define MAX_REQ_ANOMS 8

typedef struct xreq {
    char client[80], server[80];
    int request_id;
    uint32_t frame;           /* 0: omit */
    const char *method, *uri, *script;
    int status;               /* -1 omit, 0 null */
    int complete;             /* -1 omit */
    int64_t t_begin, t_sent, t_first, t_end; /* -1: not set */
    bool timing;              /* emit the timing fields that are defined */
    bool no_server_ns;
    long long stdin_bytes, stdout_bytes, stderr_bytes; /* -1 omit */
    const char *anoms[MAX_REQ_ANOMS];
    int nanoms;
    bool anoms_set;           /* emit "anomalies" (exact list) */
} xreq;

typedef struct cap {
    char name[96];
    const char *ext;
    char path[1024];
    FILE *f;
    pcapw *w;
    pcapw_opts po;
    netw_link_opts lk;
    netw_ip_opts ipo;
    uint32_t frame;           /* frames written */
    int64_t now;              /* timestamp of the next packet */
    int64_t last_ts;          /* timestamp of the last packet */
    int64_t step;             /* default gap between packets */
    size_t mss;
    const char *desc;
    int ports[4];
    int nports;
    xreq *reqs;
    int nreqs, capreqs;
    const char *must[MAX_IDS];
    int nmust;
    const char *may[MAX_IDS];
    int nmay;
    int count_override;       /* -1: nreqs */
    int count_may[4];
    int ncount_may;
    bool partial;
    bool nondefault_port;
    bool has_error, err_fatal;
    uint32_t err_frame;       /* 0: null */
    int exit_status;
} cap;

static uint8_t g_pkt[70000];

static void cap_begin(cap *c, const char *name, netw_link link, pcapw_format fmt, bool ns, bool be)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->ext = fmt == PCAPW_PCAPNG ? "pcapng" : "pcap";
    snprintf(c->path, sizeof c->path, "%s/%s.%s", g_outdir, name, c->ext);
    c->f = fopen(c->path, "wb");
    if (!c->f)
        die("%s: %s", c->path, strerror(errno));
    c->lk.link = link;
    c->lk.vlan_outer = 100;
    c->lk.vlan_inner = 200;
    c->po.format = fmt;
    c->po.ns = ns;
    c->po.big_endian = be;
    c->po.linktype = netw_linktype(link);
    c->po.snaplen = 262144;
    c->now = T0_NS;
    c->step = ns ? 37411 : 40 * US;
    c->mss = 1460;
    c->count_override = -1;
    c->ports[0] = FCGI_PORT;
    c->nports = 1;
}

static void cap_open_writer(cap *c)
{
    if (!c->w) {
        c->w = pcapw_open(c->f, &c->po);
        if (!c->w)
            die("%s: cannot write header", c->path);
    }
}

static uint32_t write_frame(cap *c, const uint8_t *b, size_t caplen, size_t len)
{
    cap_open_writer(c);
    if (pcapw_packet(c->w, c->now, b, caplen, len) != 0)
        die("%s: write failed", c->path);
    c->last_ts = c->now;
    c->now += c->step;
    return ++c->frame;
}

static void cap_wait(cap *c, int64_t d) { c->now += d; }

/* Most captures: Ethernet, classic pcap, microseconds, little-endian. */
static void cap_plain(cap *c, const char *name, const char *desc)
{
    cap_begin(c, name, NETW_LINK_ETHERNET, PCAPW_PCAP, false, false);
    c->desc = desc;
}

static void ids_add(cap *c, const char **ids, int *n, const char *const *add)
{
    for (; *add; add++) {
        if (*n == MAX_IDS)
            die("%s: more than %d expected ids", c->name, MAX_IDS);
        ids[(*n)++] = *add;
    }
}

/* Anomaly ids the capture must / may raise (expect.json). */
#define MUST(c, ...) ids_add((c), (c)->must, &(c)->nmust, (const char *const[]){__VA_ARGS__, NULL})
#define MAY(c, ...) ids_add((c), (c)->may, &(c)->nmay, (const char *const[]){__VA_ARGS__, NULL})

static xreq *new_req(cap *c, const netw_tcp *t, int id)
{
    if (c->nreqs == c->capreqs) {
        c->capreqs = c->capreqs ? c->capreqs * 2 : 8;
        c->reqs = realloc(c->reqs, (size_t)c->capreqs * sizeof *c->reqs);
        if (!c->reqs)
            die("out of memory");
    }
    xreq *r = &c->reqs[c->nreqs++];
    memset(r, 0, sizeof *r);
    netw_addr_format(&t->ep[0], r->client, sizeof r->client);
    netw_addr_format(&t->ep[1], r->server, sizeof r->server);
    r->request_id = id;
    r->status = -1;
    r->complete = -1;
    r->t_begin = r->t_sent = r->t_first = r->t_end = -1;
    r->timing = true;
    r->stdin_bytes = r->stdout_bytes = r->stderr_bytes = -1;
    return r;
}

static void req_is(xreq *r, const char *method, const char *uri, int status)
{
    r->method = method;
    r->uri = uri;
    r->status = status;
}

static void req_anoms(xreq *r, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    r->anoms_set = true;
    r->nanoms = n;
    for (int i = 0; i < n; i++)
        r->anoms[i] = va_arg(ap, const char *);
    va_end(ap);
}

/* Marks on the last written packet. */
#define MARK_BEGIN(c, r) ((r)->frame = (c)->frame, (r)->t_begin = (c)->last_ts)
#define MARK_SENT(c, r) ((r)->t_sent = (c)->last_ts)
#define MARK_FIRST(c, r) ((r)->t_first = (c)->last_ts)
#define MARK_END(c, r) ((r)->t_end = (c)->last_ts)

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct ids of a list, sorted (expect.json and the README list
 * them alike whatever order the scenario named them in); returns how many. */
static int ids_sorted(const char **out, const char *const *ids, int n)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        bool dup = false;
        for (int j = 0; j < m; j++)
            if (strcmp(out[j], ids[i]) == 0)
                dup = true;
        if (!dup)
            out[m++] = ids[i];
    }
    qsort(out, (size_t)m, sizeof out[0], cmp_str);
    return m;
}

static void json_ids(FILE *f, const char **ids, int n)
{
    const char *tmp[MAX_IDS];
    int m = ids_sorted(tmp, ids, n);
    fputc('[', f);
    for (int i = 0; i < m; i++) {
        if (i)
            fputs(", ", f);
        json_str(f, tmp[i]);
    }
    fputc(']', f);
}

/* Rows of the README table, one per capture, in generation order. */
typedef struct readme_row {
    char file[200];
    char *desc;
    char must[600];
    char may[600];
} readme_row;

static readme_row g_rows[128];
static int g_nrows;

static void ids_text(char *out, size_t n, const char *const *ids, int k)
{
    const char *tmp[MAX_IDS];
    int m = ids_sorted(tmp, ids, k);
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < m && used < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s`%s`", i ? ", " : "", tmp[i]);
    if (m == 0)
        snprintf(out, n, "—");
}

static void add_row(const cap *c, const char *fname)
{
    if (g_nrows == (int)(sizeof g_rows / sizeof g_rows[0]))
        die("too many captures for the README table");
    readme_row *r = &g_rows[g_nrows++];
    snprintf(r->file, sizeof r->file, "%s", fname);
    const char *d = c->desc ? c->desc : "";
    r->desc = malloc(strlen(d) + 1);
    if (!r->desc)
        die("out of memory");
    memcpy(r->desc, d, strlen(d) + 1);
    for (char *q = r->desc; *q; q++)
        if (*q == '|')
            *q = '/';
    ids_text(r->must, sizeof r->must, c->must, c->nmust);
    ids_text(r->may, sizeof r->may, c->may, c->nmay);
}

static const char README_HEAD[] =
    "# Crafted captures\n"
    "\n"
    "Written by `captures/gen/craft.c` (program `fcgiscope-craft`), together with this\n"
    "README: do not edit these files by hand. Regenerate everything with one command\n"
    "from a configured build directory:\n"
    "\n"
    "    cmake --build BUILD --target craft-captures\n"
    "\n"
    "(or `BUILD/captures/gen/fcgiscope-craft captures/crafted`). The CTest test\n"
    "`captures-crafted-regen` regenerates into a temporary folder and fails if any\n"
    "file differs byte for byte; `captures-crafted-expect` validates every\n"
    "`*.expect.json`; `captures-crafted-coverage` fails if a decoder-level id of\n"
    "`decoder/include/fsd/anomalies.def` has no capture that must fire it;\n"
    "`captures-crafted-tshark` opens every capture in tshark and cross-checks the\n"
    "BEGIN_REQUEST frames and timings with tshark's built-in `fcgi` dissector.\n"
    "\n"
    "## Conventions\n"
    "\n"
    "- Deterministic: no randomness (filler text comes from a fixed-seed xorshift),\n"
    "  timestamps start at 2026-01-01T00:00:00Z, fixed sequence numbers.\n"
    "- Addresses: client (the web server) 192.0.2.10 / 2001:db8::10, FastCGI\n"
    "  application 198.51.100.20 / 2001:db8:0:1::20, MACs 00:00:5e:00:53:01/02\n"
    "  (documentation ranges). FastCGI server port 9000 unless the file says otherwise.\n"
    "- Request parameters follow nginx's `fastcgi_params` plus `SCRIPT_FILENAME`;\n"
    "  text payloads are printable ASCII, so nothing inside a record body looks like\n"
    "  a record header to a resynchronising decoder.\n"
    "- Timing points as in `FASTCGI.md` \"Timing points\": `latency_ns`, `ttfb_ns` and\n"
    "  `server_ns` are exact differences of packet timestamps the generator wrote.\n"
    "  In microsecond files every value is a whole microsecond. A field is left out\n"
    "  when its timing point does not exist (no END_REQUEST, no STDOUT/STDERR, no end\n"
    "  of the last client stream) or would be negative (`early_response`).\n"
    "- `requests` are in t_begin order; `frame` is the packet with the first byte of\n"
    "  BEGIN_REQUEST. A per-request `anomalies` list is exact (given only where the\n"
    "  answer is not debatable). Only requests whose BEGIN_REQUEST is in the capture\n"
    "  are counted.\n"
    "- `anomalies_may` holds ids a correct analysis may or may not report because the\n"
    "  catalogue leaves the consequence open (e.g. whether a decoder that meets a bad\n"
    "  header also declares `desync`). Oddities that could stop a decoder (bad\n"
    "  version, unknown type, non-plausible headers) come after a complete request, so\n"
    "  that either choice leaves the request list unchanged.\n"
    "- Three captures depend on the decoder's default limits (`fsd_limits_default`):\n"
    "  `param_cap_exceeded` (262144 stored param bytes), `cgi_header_cap_exceeded`\n"
    "  (16384 header bytes) and `request_table_full` (1024 active requests).\n"
    "\n"
    "## Keys beyond captures/EXPECT.md\n"
    "\n"
    "| key | meaning |\n"
    "|---|---|\n"
    "| `nondefault_port` | `true`: the server port is not fcgiscope's default (9000); a correct analysis finds it by FastCGI detection, or is run with `-p` and `server_ports` |\n"
    "| `request_count_may` | other request counts that are also correct, where the catalogue leaves open whether something starts a request (`duplicate_begin`) |\n"
    "| `requests_partial` | `true`: `requests` lists only some of the requests (match them by `frame` and `request_id`), e.g. 2 of the 1024 in `request_table_full` |\n"
    "\n"
    "## Damaged files and tshark\n"
    "\n"
    "`damaged_empty` (0 bytes), `damaged_text` and `damaged_linktype` (link type 65000)\n"
    "are fatal for fcgiscope (exit 2). tshark 4.0 rejects the last two but reads a\n"
    "0-byte file as an empty capture (exit 0, no packets). `damaged_truncated` is cut\n"
    "inside its last packet: its earlier frames read fine (fcgiscope reports the\n"
    "requests before the damage, `capture_truncated`, exit 0); tshark reads them and\n"
    "then says the file \"appears to have been cut short in the middle of a packet\"\n"
    "(exit 2).\n"
    "\n"
    "## Ids without a crafted capture\n"
    "\n"
    "Every decoder-level id has one. Of the capture-level ids (raised by the front\n"
    "ends), `capture_truncated`, `snaplen_truncated` and `ip_fragment` have captures;\n"
    "`tcp_ooo_cap` and `flow_table_full` depend on the analyzer's buffering and flow\n"
    "limits rather than on a file's content, and `capture_drops` comes from live\n"
    "capture counters that a pcap file does not carry.\n"
    "\n"
    "## The captures\n"
    "\n"
    "| file | what it exercises | must | may |\n"
    "|---|---|---|---|\n";

static void write_readme(void)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/README.md", g_outdir);
    FILE *f = fopen(path, "wb");
    if (!f)
        die("%s: %s", path, strerror(errno));
    fputs(README_HEAD, f);
    for (int i = 0; i < g_nrows; i++) {
        fprintf(f, "| `%s` | %s | %s | %s |\n", g_rows[i].file, g_rows[i].desc, g_rows[i].must,
                g_rows[i].may);
        free(g_rows[i].desc);
    }
    if (fclose(f) != 0)
        die("%s: write failed", path);
}

static void write_expect(cap *c)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s.expect.json", g_outdir, c->name);
    FILE *f = fopen(path, "wb");
    if (!f)
        die("%s: %s", path, strerror(errno));
    fprintf(f, "{\n  \"capture\": ");
    char fname[200];
    snprintf(fname, sizeof fname, "%s.%s", c->name, c->ext);
    add_row(c, fname);
    json_str(f, fname);
    fprintf(f, ",\n  \"kind\": \"crafted\",\n  \"description\": ");
    json_str(f, c->desc ? c->desc : "");
    fprintf(f, ",\n  \"server_ports\": [");
    for (int i = 0; i < c->nports; i++)
        fprintf(f, "%s%d", i ? ", " : "", c->ports[i]);
    fprintf(f, "],\n  \"precision\": \"%s\",\n", c->po.ns ? "ns" : "us");
    if (c->nondefault_port)
        fprintf(f, "  \"nondefault_port\": true,\n");
    if (c->has_error) {
        fprintf(f, "  \"error\": {\"fatal\": %s, \"frame\": ", c->err_fatal ? "true" : "false");
        if (c->err_frame)
            fprintf(f, "%" PRIu32, c->err_frame);
        else
            fprintf(f, "null");
        fprintf(f, ", \"contains\": ");
        json_str(f, fname);
        fprintf(f, "},\n");
    } else {
        fprintf(f, "  \"error\": null,\n");
    }
    fprintf(f, "  \"exit_status\": %d,\n", c->exit_status);
    fprintf(f, "  \"request_count\": %d,\n", c->count_override >= 0 ? c->count_override : c->nreqs);
    if (c->ncount_may) {
        fprintf(f, "  \"request_count_may\": [");
        for (int i = 0; i < c->ncount_may; i++)
            fprintf(f, "%s%d", i ? ", " : "", c->count_may[i]);
        fprintf(f, "],\n");
    }
    if (c->partial)
        fprintf(f, "  \"requests_partial\": true,\n");
    fprintf(f, "  \"requests\": [");
    for (int i = 0; i < c->nreqs; i++) {
        xreq *r = &c->reqs[i];
        fprintf(f, "%s\n    {\"client\": ", i ? "," : "");
        json_str(f, r->client);
        fprintf(f, ", \"server\": ");
        json_str(f, r->server);
        fprintf(f, ", \"request_id\": %d", r->request_id);
        if (r->frame)
            fprintf(f, ", \"frame\": %" PRIu32, r->frame);
        if (r->method) {
            fprintf(f, ", \"method\": ");
            json_str(f, r->method);
        }
        if (r->uri) {
            fprintf(f, ", \"uri\": ");
            json_str(f, r->uri);
        }
        if (r->script) {
            fprintf(f, ", \"script\": ");
            json_str(f, r->script);
        }
        if (r->status == 0)
            fprintf(f, ", \"status\": null");
        else if (r->status > 0)
            fprintf(f, ", \"status\": %d", r->status);
        if (r->complete >= 0)
            fprintf(f, ", \"complete\": %s", r->complete ? "true" : "false");
        if (r->timing) {
            if (r->t_begin >= 0 && r->t_end >= 0)
                fprintf(f, ", \"latency_ns\": %" PRId64, r->t_end - r->t_begin);
            if (r->t_begin >= 0 && r->t_first >= 0)
                fprintf(f, ", \"ttfb_ns\": %" PRId64, r->t_first - r->t_begin);
            if (r->t_sent >= 0 && r->t_first >= 0 && !r->no_server_ns)
                fprintf(f, ", \"server_ns\": %" PRId64, r->t_first - r->t_sent);
        }
        if (r->stdin_bytes >= 0)
            fprintf(f, ", \"stdin_bytes\": %lld", r->stdin_bytes);
        if (r->stdout_bytes >= 0)
            fprintf(f, ", \"stdout_bytes\": %lld", r->stdout_bytes);
        if (r->stderr_bytes >= 0)
            fprintf(f, ", \"stderr_bytes\": %lld", r->stderr_bytes);
        if (r->anoms_set) {
            fprintf(f, ", \"anomalies\": ");
            json_ids(f, r->anoms, r->nanoms);
        }
        fprintf(f, "}");
    }
    fprintf(f, "%s],\n  \"anomalies_must\": ", c->nreqs ? "\n  " : "");
    json_ids(f, c->must, c->nmust);
    fprintf(f, ",\n  \"anomalies_may\": ");
    json_ids(f, c->may, c->nmay);
    fprintf(f, "\n}\n");
    if (fclose(f) != 0)
        die("%s: write failed", path);
}

static void cap_end(cap *c)
{
    cap_open_writer(c);
    if (pcapw_close(c->w) != 0)
        die("%s: write failed", c->path);
    c->w = NULL;
    if (fclose(c->f) != 0)
        die("%s: close failed", c->path);
    c->f = NULL;
    write_expect(c);
    free(c->reqs);
    printf("%s.%s\n", c->name, c->ext);
}

/* ======================================================================
 * TCP helpers
 * ==================================================================== */

static uint32_t tcp_send(cap *c, netw_tcp *t, int dir, uint8_t flags, const void *p, size_t n)
{
    size_t len = netw_tcp_packet(t, dir, flags, p, n, g_pkt, sizeof g_pkt);
    if (!len)
        die("%s: cannot build packet", c->name);
    return write_frame(c, g_pkt, len, len);
}

static uint32_t tcp_send_at(cap *c, netw_tcp *t, int dir, uint32_t seq, uint8_t flags, const void *p, size_t n)
{
    size_t len = netw_tcp_packet_at(t, dir, seq, flags, p, n, g_pkt, sizeof g_pkt);
    if (!len)
        die("%s: cannot build packet", c->name);
    return write_frame(c, g_pkt, len, len);
}

static void conn_init(cap *c, netw_tcp *t, int v6, uint16_t cport, uint16_t sport,
                      uint32_t cisn, uint32_t sisn)
{
    netw_addr a, b;
    netw_addr_parse(&a, v6 ? CLIENT_IP6 : CLIENT_IP, cport);
    netw_addr_parse(&b, v6 ? SERVER_IP6 : SERVER_IP, sport);
    netw_tcp_init(t, &c->lk, &c->ipo, &a, &b, cisn, sisn);
}

static int cap_emit(void *ud, const uint8_t *frame, size_t len)
{
    write_frame(ud, frame, len, len);
    return 0;
}

/* New connection with its three-way handshake. */
static void conn_open(cap *c, netw_tcp *t, int v6, uint16_t cport, uint16_t sport,
                      uint32_t cisn, uint32_t sisn)
{
    conn_init(c, t, v6, cport, sport, cisn, sisn);
    if (netw_tcp_handshake(t, cap_emit, c) != 0)
        die("%s: cannot build the handshake", c->name);
}

/* Orderly close, first_dir sends the first FIN. */
static void conn_close(cap *c, netw_tcp *t, int first_dir)
{
    if (netw_tcp_close(t, first_dir, cap_emit, c) != 0)
        die("%s: cannot build the close", c->name);
}

/* Send bytes as segments of at most mss (0: the capture's); returns the first frame. */
static uint32_t send_data(cap *c, netw_tcp *t, int dir, const uint8_t *p, size_t n, size_t mss)
{
    uint32_t first = c->frame + 1;
    if (n == 0)
        return 0;
    if (netw_tcp_send(t, dir, p, n, mss ? mss : c->mss, cap_emit, c) < 0)
        die("%s: cannot build segments", c->name);
    return first;
}

/* The client's bytes of request id 1 in one go, BEGIN_REQUEST in the
 * packet the expectation marks (the last one: they fit one segment). */
static xreq *send_request(cap *c, netw_tcp *t, const fcgiw_buf *cb)
{
    xreq *r = new_req(c, t, 1);
    send_data(c, t, 0, cb->p, cb->len, 0);
    MARK_BEGIN(c, r);
    return r;
}

/* The usual exchange: the client's bytes (BEGIN_REQUEST first, last client
 * stream's end last), server_delay, the server's bytes (first STDOUT/STDERR
 * record in the first segment, END_REQUEST last). Marks all four points. */
static xreq *exchange(cap *c, netw_tcp *t, int id, const fcgiw_buf *cb, const fcgiw_buf *sb,
                      int64_t server_delay)
{
    xreq *r = new_req(c, t, id);
    uint32_t f = send_data(c, t, 0, cb->p, cb->len, 0);
    r->frame = f;
    /* frames of one send_data() call are written at fixed steps */
    r->t_sent = c->last_ts;
    r->t_begin = c->last_ts - (int64_t)(c->frame - f) * c->step;
    cap_wait(c, server_delay);
    uint32_t g = send_data(c, t, 1, sb->p, sb->len, 0);
    r->t_end = c->last_ts;
    r->t_first = c->last_ts - (int64_t)(c->frame - g) * c->step;
    r->complete = 1;
    return r;
}

/* ======================================================================
 * FastCGI content helpers
 * ==================================================================== */

#define MAX_PAIRS 64

typedef struct pair {
    const char *name;
    size_t nlen;
    const char *value;
    size_t vlen;
} pair;

typedef struct pairs {
    pair p[MAX_PAIRS];
    int n;
    char store[8][512];
    int nstore;
} pairs;

static void ps_add_len(pairs *ps, const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (ps->n == MAX_PAIRS)
        die("too many pairs");
    ps->p[ps->n++] = (pair){name, nlen, value, vlen};
}

static void ps_add(pairs *ps, const char *name, const char *value)
{
    ps_add_len(ps, name, strlen(name), value, strlen(value));
}

static void ps_del(pairs *ps, const char *name)
{
    for (int i = 0; i < ps->n; i++) {
        if (ps->p[i].nlen == strlen(name) && memcmp(ps->p[i].name, name, ps->p[i].nlen) == 0) {
            memmove(&ps->p[i], &ps->p[i + 1], (size_t)(ps->n - i - 1) * sizeof ps->p[0]);
            ps->n--;
            i--;
        }
    }
}

static void ps_set(pairs *ps, const char *name, const char *value)
{
    for (int i = 0; i < ps->n; i++) {
        if (ps->p[i].nlen == strlen(name) && memcmp(ps->p[i].name, name, ps->p[i].nlen) == 0) {
            ps->p[i].value = value;
            ps->p[i].vlen = strlen(value);
            return;
        }
    }
    ps_add(ps, name, value);
}

static const char *ps_keep(pairs *ps, const char *s, size_t n)
{
    if (ps->nstore == 8 || n >= 512)
        die("pair store full");
    char *d = ps->store[ps->nstore++];
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* nginx fastcgi_params + SCRIPT_FILENAME for uri "/path.php?query". body_len
 * < 0: CONTENT_LENGTH empty (nginx, no body). */
static void ps_std(pairs *ps, const char *method, const char *uri, long body_len)
{
    memset(ps, 0, sizeof *ps);
    const char *q = strchr(uri, '?');
    size_t plen = q ? (size_t)(q - uri) : strlen(uri);
    const char *path = ps_keep(ps, uri, plen);
    char tmp[512];
    snprintf(tmp, sizeof tmp, "/var/www/html%.400s", path);
    const char *fname = ps_keep(ps, tmp, strlen(tmp));
    const char *clen = "";
    if (body_len >= 0) {
        snprintf(tmp, sizeof tmp, "%ld", body_len);
        clen = ps_keep(ps, tmp, strlen(tmp));
    }
    ps_add(ps, "QUERY_STRING", q ? q + 1 : "");
    ps_add(ps, "REQUEST_METHOD", method);
    ps_add(ps, "CONTENT_TYPE", body_len >= 0 ? "application/x-www-form-urlencoded" : "");
    ps_add(ps, "CONTENT_LENGTH", clen);
    ps_add(ps, "SCRIPT_NAME", path);
    ps_add(ps, "REQUEST_URI", uri);
    ps_add(ps, "DOCUMENT_URI", path);
    ps_add(ps, "DOCUMENT_ROOT", "/var/www/html");
    ps_add(ps, "SERVER_PROTOCOL", "HTTP/1.1");
    ps_add(ps, "REQUEST_SCHEME", "http");
    ps_add(ps, "GATEWAY_INTERFACE", "CGI/1.1");
    ps_add(ps, "SERVER_SOFTWARE", "nginx/1.22.1");
    ps_add(ps, "REMOTE_ADDR", "203.0.113.7");
    ps_add(ps, "REMOTE_PORT", "51234");
    ps_add(ps, "SERVER_ADDR", "192.0.2.10");
    ps_add(ps, "SERVER_PORT", "80");
    ps_add(ps, "SERVER_NAME", "www.example.com");
    ps_add(ps, "REDIRECT_STATUS", "200");
    ps_add(ps, "SCRIPT_FILENAME", fname);
    ps_add(ps, "HTTP_HOST", "www.example.com");
    ps_add(ps, "HTTP_USER_AGENT", "curl/7.88.1");
    ps_add(ps, "HTTP_ACCEPT", "*/*");
}

static void ps_encode(const pairs *ps, fcgiw_buf *b)
{
    for (int i = 0; i < ps->n; i++)
        fcgiw_nv(b, ps->p[i].name, (uint32_t)ps->p[i].nlen, ps->p[i].value, (uint32_t)ps->p[i].vlen,
                 false, false);
}

typedef struct qstyle {
    bool pad8;
    uint16_t stdin_max;       /* 0: 32768 (nginx) */
    bool no_params_eos;
    bool no_stdin;            /* no STDIN stream at all (AUTHORIZER) */
    bool no_stdin_eos;
} qstyle;

static const qstyle Q_NGINX = {true, 32768, false, false, false};
static const qstyle Q_HAPROXY = {false, 16320, false, false, false};

/* BEGIN_REQUEST, the PARAMS stream, the STDIN stream. */
static void request(fcgiw_buf *b, uint16_t id, uint16_t role, uint8_t flags, const pairs *ps,
                    const void *body, size_t blen, const qstyle *st)
{
    fcgiw_begin(b, id, role, flags);
    fcgiw_buf pb;
    fcgiw_buf_init(&pb);
    ps_encode(ps, &pb);
    fcgiw_style s = {65535, st->pad8};
    fcgiw_stream(b, FCGIW_PARAMS, id, pb.p, pb.len, &s, !st->no_params_eos);
    fcgiw_buf_free(&pb);
    if (!st->no_stdin) {
        s.max_content = st->stdin_max ? st->stdin_max : 32768;
        fcgiw_stream(b, FCGIW_STDIN, id, body, blen, &s, !st->no_stdin_eos);
    }
}

typedef struct rstyle {
    bool pad8;
    uint16_t max;             /* STDOUT content per record; 0: 8184 */
    bool no_eos;              /* php-fpm: no empty STDOUT */
    bool no_end;              /* no END_REQUEST */
    const char *err;          /* STDERR text sent before STDOUT */
    bool err_eos;             /* empty STDERR after it */
} rstyle;

static const rstyle R_LIBFCGI = {true, 8184, false, false, NULL, false};
static const rstyle R_PHPFPM = {true, 8184, true, false, NULL, false};
static const rstyle R_NOPAD = {false, 16384, false, false, NULL, false};

/* CGI response text: optional Status, Content-Type, blank line, body. */
static size_t cgi_text(fcgiw_buf *out, const char *status, const char *body)
{
    size_t before = out->len;
    if (status) {
        fcgiw_put_str(out, "Status: ");
        fcgiw_put_str(out, status);
        fcgiw_put_str(out, "\r\n");
    }
    fcgiw_put_str(out, "Content-type: text/html; charset=UTF-8\r\n\r\n");
    fcgiw_put_str(out, body);
    return out->len - before;
}

/* STDERR (optional), STDOUT stream of text, END_REQUEST. */
static void response_raw(fcgiw_buf *b, uint16_t id, const uint8_t *text, size_t tlen, const rstyle *st)
{
    if (st->err) {
        fcgiw_style es = {65535, st->pad8};
        fcgiw_stream(b, FCGIW_STDERR, id, st->err, strlen(st->err), &es, st->err_eos);
    }
    fcgiw_style s = {st->max ? st->max : 8184, st->pad8};
    fcgiw_stream(b, FCGIW_STDOUT, id, text, tlen, &s, !st->no_eos);
    if (!st->no_end)
        fcgiw_end(b, id, 0, 0);
}

static size_t response(fcgiw_buf *b, uint16_t id, const char *status, const char *body, const rstyle *st)
{
    fcgiw_buf t;
    fcgiw_buf_init(&t);
    size_t n = cgi_text(&t, status, body);
    response_raw(b, id, t.p, t.len, st);
    fcgiw_buf_free(&t);
    return n;
}

static const char *HTML_OK = "<!DOCTYPE html>\n<html><body><p>Hello from crafted FastCGI.</p></body></html>\n";

/* Deterministic filler text (no byte below 0x20, so nothing in it looks like
 * a record header). */
static void filler(uint8_t *p, size_t n, unsigned seed)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint32_t x = 2463534242u ^ seed;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)alpha[x % 36];
    }
}

/* One plain request on a new connection: GET (body NULL) or POST. The four
 * timing points fall in four different packets: BEGIN_REQUEST + PARAMS, then
 * (120 µs later) the STDIN stream; after the server delay the CGI header in
 * its own STDOUT record, then (900 µs later) the body, the empty STDOUT and
 * END_REQUEST. KEEP_CONN clear: the server closes. */
static xreq *simple_conn(cap *c, int v6, uint16_t cport, uint16_t sport, const char *method,
                         const char *uri, const uint8_t *body, size_t blen, const char *status,
                         int status_code)
{
    netw_tcp t;
    conn_open(c, &t, v6, cport, sport, 1000000u + cport * 7919u, 2000000u + cport * 104729u);
    pairs ps;
    ps_std(&ps, method, uri, body ? (long)blen : -1);
    fcgiw_buf a, b, hd, tail, txt;
    fcgiw_buf_init(&a);
    fcgiw_buf_init(&b);
    fcgiw_buf_init(&hd);
    fcgiw_buf_init(&tail);
    fcgiw_buf_init(&txt);
    qstyle q = Q_NGINX;
    q.no_stdin = true;
    request(&a, 1, FCGIW_RESPONDER, 0, &ps, NULL, 0, &q);
    fcgiw_style st = {32768, true};
    fcgiw_stream(&b, FCGIW_STDIN, 1, body, blen, &st, true);
    if (status) {
        fcgiw_put_str(&txt, "Status: ");
        fcgiw_put_str(&txt, status);
        fcgiw_put_str(&txt, "\r\n");
    }
    fcgiw_put_str(&txt, "Content-type: text/html; charset=UTF-8\r\n\r\n");
    fcgiw_record(&hd, FCGIW_STDOUT, 1, txt.p, (uint16_t)txt.len, fcgiw_pad8(txt.len));
    size_t out = txt.len + strlen(HTML_OK);
    fcgiw_buf_free(&txt);
    rstyle rs = R_LIBFCGI;
    response_raw(&tail, 1, (const uint8_t *)HTML_OK, strlen(HTML_OK), &rs);

    xreq *r = new_req(c, &t, 1);
    send_data(c, &t, 0, a.p, a.len, 0);
    MARK_BEGIN(c, r);
    cap_wait(c, 120 * US);
    send_data(c, &t, 0, b.p, b.len, 0);
    MARK_SENT(c, r);
    cap_wait(c, 2 * MS + 350 * US);
    send_data(c, &t, 1, hd.p, hd.len, 0);
    MARK_FIRST(c, r);
    cap_wait(c, 900 * US);
    send_data(c, &t, 1, tail.p, tail.len, 0);
    MARK_END(c, r);
    req_is(r, method, uri, status_code);
    r->complete = 1;
    r->stdin_bytes = (long long)blen;
    r->stdout_bytes = (long long)out;
    r->stderr_bytes = 0;
    req_anoms(r, 0);
    conn_close(c, &t, 1);
    fcgiw_buf_free(&a);
    fcgiw_buf_free(&b);
    fcgiw_buf_free(&hd);
    fcgiw_buf_free(&tail);
    return r;
}

/* ======================================================================
 * Scenarios: baseline and link / file format variants
 * ==================================================================== */

static void link_variant(const char *name, netw_link link, pcapw_format fmt, bool ns, bool be,
                         int v6, const char *desc)
{
    cap c;
    cap_begin(&c, name, link, fmt, ns, be);
    c.desc = desc;
    if (v6)
        c.mss = 1440;
    simple_conn(&c, v6, 40001, FCGI_PORT, "GET", "/index.php?page=1", NULL, 0, NULL, 200);
    cap_wait(&c, 5 * MS);
    uint8_t body[300];
    filler(body, sizeof body, 7);
    memcpy(body, "name=", 5);
    simple_conn(&c, v6, 40002, FCGI_PORT, "POST", "/form.php", body, sizeof body, "302 Found", 302);
    cap_end(&c);
}

static void sc_baseline(void)
{
    link_variant("baseline_nginx", NETW_LINK_ETHERNET, PCAPW_PCAP, false, false, 0,
                 "Baseline: two clean nginx-style requests (GET 200, POST 302), one per connection, "
                 "libfcgi-style answers; classic pcap, microseconds, little-endian, Ethernet.");
    link_variant("link_vlan", NETW_LINK_VLAN, PCAPW_PCAP, false, false, 0,
                 "The baseline requests on Ethernet with one 802.1Q tag (VID 100).");
    link_variant("link_qinq", NETW_LINK_QINQ, PCAPW_PCAP, false, false, 0,
                 "The baseline requests on Ethernet with QinQ: 802.1ad S-tag (0x88a8, VID 100) and C-tag (VID 200).");
    link_variant("link_sll", NETW_LINK_SLL, PCAPW_PCAP, false, false, 0,
                 "The baseline requests as Linux cooked capture v1 (LINKTYPE_LINUX_SLL 113).");
    link_variant("link_sll2", NETW_LINK_SLL2, PCAPW_PCAP, false, false, 0,
                 "The baseline requests as Linux cooked capture v2 (LINKTYPE_LINUX_SLL2 276).");
    link_variant("link_null", NETW_LINK_NULL, PCAPW_PCAP, false, false, 0,
                 "The baseline requests on BSD loopback (LINKTYPE_NULL 0, AF_INET 2 in little-endian).");
    link_variant("link_loop", NETW_LINK_LOOP, PCAPW_PCAP, false, false, 0,
                 "The baseline requests on OpenBSD loopback (LINKTYPE_LOOP 108, AF_INET 2 in network order).");
    link_variant("link_ipv4", NETW_LINK_IPV4, PCAPW_PCAP, false, false, 0,
                 "The baseline requests as raw IPv4 (LINKTYPE_IPV4 228).");
    link_variant("ipv6", NETW_LINK_ETHERNET, PCAPW_PCAP, false, false, 1,
                 "The baseline requests over IPv6 on Ethernet.");
    link_variant("pcapng_ns", NETW_LINK_ETHERNET, PCAPW_PCAPNG, true, false, 0,
                 "The baseline requests in pcapng with if_tsresol 9 (nanosecond timestamps, odd ns steps).");
    link_variant("pcap_ns", NETW_LINK_ETHERNET, PCAPW_PCAP, true, false, 0,
                 "The baseline requests in classic pcap with the nanosecond magic 0xa1b23c4d.");
    link_variant("pcap_bigendian", NETW_LINK_ETHERNET, PCAPW_PCAP, false, true, 0,
                 "The baseline requests in classic pcap written big-endian (magic a1 b2 c3 d4 on disk).");
    link_variant("pcapng_bigendian", NETW_LINK_ETHERNET, PCAPW_PCAPNG, false, true, 0,
                 "The baseline requests in big-endian pcapng, default microsecond resolution.");

    /* IPv6 with extension headers. */
    {
        cap c;
        cap_plain(&c, "ipv6_exthdr",
                  "The baseline requests over IPv6 where every packet carries a Hop-by-Hop and a "
                  "Destination Options extension header before TCP.");
        c.mss = 1424;
        c.ipo.ext[0] = 0;
        c.ipo.ext[1] = 60;
        c.ipo.next = 2;
        simple_conn(&c, 1, 40001, FCGI_PORT, "GET", "/index.php?page=1", NULL, 0, NULL, 200);
        cap_wait(&c, 5 * MS);
        uint8_t body[300];
        filler(body, sizeof body, 7);
        memcpy(body, "name=", 5);
        simple_conn(&c, 1, 40002, FCGI_PORT, "POST", "/form.php", body, sizeof body, "302 Found", 302);
        cap_end(&c);
    }
    /* Raw IP (LINKTYPE_RAW): one IPv4 and one IPv6 connection. */
    {
        cap c;
        cap_begin(&c, "link_raw", NETW_LINK_RAW, PCAPW_PCAP, false, false);
        c.desc = "LINKTYPE_RAW (101): a GET over IPv4 and a POST over IPv6, no link header.";
        simple_conn(&c, 0, 40001, FCGI_PORT, "GET", "/index.php?page=1", NULL, 0, NULL, 200);
        cap_wait(&c, 5 * MS);
        uint8_t body[300];
        filler(body, sizeof body, 7);
        memcpy(body, "name=", 5);
        c.mss = 1440;
        simple_conn(&c, 1, 40002, FCGI_PORT, "POST", "/form.php", body, sizeof body, "302 Found", 302);
        cap_end(&c);
    }
    /* Non-default server port. */
    {
        cap c;
        cap_plain(&c, "port_9123",
                  "The baseline requests with the FastCGI server on port 9123 (not a default port): "
                  "found by the analyzer's FastCGI detection or with -p 9123.");
        c.ports[0] = 9123;
        c.nondefault_port = true;
        simple_conn(&c, 0, 40001, 9123, "GET", "/index.php?page=1", NULL, 0, NULL, 200);
        cap_wait(&c, 5 * MS);
        uint8_t body[300];
        filler(body, sizeof body, 7);
        memcpy(body, "name=", 5);
        simple_conn(&c, 0, 40002, 9123, "POST", "/form.php", body, sizeof body, "302 Found", 302);
        cap_end(&c);
    }
}

/* nginx fastcgi_keep_conn on: three requests, id 1 each, KEEP_CONN set; the
 * client closes the idle connection at the end. */
static void sc_keepalive(void)
{
    cap c;
    cap_plain(&c, "keepalive_nginx",
              "nginx fastcgi_keep_conn on: three requests (id 1 each, KEEP_CONN set) on one "
              "connection; the client closes the idle connection first. No anomaly.");
    netw_tcp t;
    conn_open(&c, &t, 0, 40100, FCGI_PORT, 111111u, 222222u);
    const char *uris[3] = {"/a.php", "/b.php?q=2", "/c.php"};
    const char *st[3] = {NULL, "404 Not Found", "500 Internal Server Error"};
    int code[3] = {200, 404, 500};
    for (int i = 0; i < 3; i++) {
        pairs ps;
        ps_std(&ps, "GET", uris[i], -1);
        fcgiw_buf cb, sb;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        request(&cb, 1, FCGIW_RESPONDER, FCGIW_KEEP_CONN, &ps, NULL, 0, &Q_NGINX);
        size_t out = response(&sb, 1, st[i], HTML_OK, &R_LIBFCGI);
        xreq *r = exchange(&c, &t, 1, &cb, &sb, (1 + i) * MS + 123 * US);
        req_is(r, "GET", uris[i], code[i]);
        r->stdout_bytes = (long long)out;
        r->stdin_bytes = 0;
        req_anoms(r, 0);
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
        cap_wait(&c, 3 * MS);
    }
    conn_close(&c, &t, 0);
    cap_end(&c);
}

/* php-fpm answers: STDERR first (one record, no empty STDERR), STDOUT
 * without the empty record, END_REQUEST in the same segment. */
static void sc_phpfpm(void)
{
    cap c;
    cap_plain(&c, "phpfpm_style",
              "php-fpm framing: no empty STDOUT/STDERR record before END_REQUEST; the first request's "
              "script writes to stderr (one STDERR record before STDOUT). Second request: 404, no stderr.");
    MUST(&c, "end_without_stdout_eos", "stderr_output");
    MAY(&c, "stream_not_terminated");
    for (int i = 0; i < 2; i++) {
        netw_tcp t;
        conn_open(&c, &t, 0, (uint16_t)(40200 + i), FCGI_PORT, 5000u + i, 9000u + i);
        pairs ps;
        ps_std(&ps, "GET", i ? "/missing.php" : "/warn.php", -1);
        fcgiw_buf cb, sb;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        request(&cb, 1, FCGIW_RESPONDER, 0, &ps, NULL, 0, &Q_NGINX);
        rstyle rs = R_PHPFPM;
        const char *err = "PHP Warning:  Undefined variable $x in /var/www/html/warn.php on line 3\n";
        if (i == 0)
            rs.err = err;
        size_t out = response(&sb, 1, i ? "404 Not Found" : NULL, i ? "File not found.\n" : HTML_OK, &rs);
        xreq *r = exchange(&c, &t, 1, &cb, &sb, 4 * MS + 17 * US);
        req_is(r, "GET", i ? "/missing.php" : "/warn.php", i ? 404 : 200);
        r->stdout_bytes = (long long)out;
        r->stderr_bytes = i ? 0 : (long long)strlen(err);
        conn_close(&c, &t, 1);
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
        cap_wait(&c, 2 * MS);
    }
    cap_end(&c);
}

/* ======================================================================
 * Scenarios: TCP
 * ==================================================================== */

/* Segments of a buffer at fixed cut points. */
typedef struct seg {
    size_t off, len;
} seg;

static void cut(const fcgiw_buf *b, size_t mss, seg *out, int *n)
{
    *n = 0;
    for (size_t off = 0; off < b->len; off += mss)
        out[(*n)++] = (seg){off, b->len - off < mss ? b->len - off : mss};
}

static uint32_t send_seg(cap *c, netw_tcp *t, int dir, uint32_t base, const fcgiw_buf *b, seg s, bool last)
{
    return tcp_send_at(c, t, dir, base + (uint32_t)s.off, NETW_ACK | (last ? NETW_PSH : 0), b->p + s.off, s.len);
}

/* Out-of-order / retransmitted / overlapping segments: a POST whose client
 * bytes and server answer span 4+ segments; order set by the scenario. */
typedef enum { TCP_OOO, TCP_RETRANS, TCP_OVERLAP, TCP_WRAP } tcp_kind;

static void tcp_scenario(const char *name, tcp_kind kind, const char *desc)
{
    cap c;
    cap_begin(&c, name, NETW_LINK_ETHERNET, PCAPW_PCAP, false, false);
    c.desc = desc;
    netw_tcp t;
    uint32_t cisn = kind == TCP_WRAP ? 0xFFFFF000u : 3000000000u;
    uint32_t sisn = kind == TCP_WRAP ? 0xFFFFFA00u : 123456789u;
    conn_open(&c, &t, 0, 40300, FCGI_PORT, cisn, sisn);
    size_t blen = 5000;
    uint8_t *body = malloc(blen);
    filler(body, blen, 11);
    memcpy(body, "data=", 5);
    pairs ps;
    ps_std(&ps, "POST", "/upload.php", (long)blen);
    fcgiw_buf cb, sb;
    fcgiw_buf_init(&cb);
    fcgiw_buf_init(&sb);
    request(&cb, 1, FCGIW_RESPONDER, 0, &ps, body, blen, &Q_NGINX);
    uint8_t *page = malloc(5001);
    filler(page, 5000, 12);
    page[5000] = 0;
    size_t out = response(&sb, 1, NULL, (const char *)page, &R_LIBFCGI);
    seg cs[16], ss[16];
    int nc, ns;
    cut(&cb, 1460, cs, &nc);
    cut(&sb, 1460, ss, &ns);
    uint32_t cbase = t.next_seq[0], sbase = t.next_seq[1];
    /* The model advances one direction when that direction starts sending,
     * so acknowledgements only cover bytes already sent. */
    xreq *r = new_req(&c, &t, 1);
    req_is(r, "POST", "/upload.php", 200);
    r->complete = 1;
    r->stdin_bytes = (long long)blen;
    r->stdout_bytes = (long long)out;
    r->stderr_bytes = 0;
    req_anoms(r, 0);
    /* client: cs[0] carries BEGIN; cs[nc-1] carries the empty STDIN */
    for (int dir = 0; dir < 2; dir++) {
        const fcgiw_buf *b = dir ? &sb : &cb;
        seg *s = dir ? ss : cs;
        int n = dir ? ns : nc;
        uint32_t base = dir ? sbase : cbase;
        if (dir)
            cap_wait(&c, 3 * MS);
        t.next_seq[dir] += (uint32_t)b->len;
        send_seg(&c, &t, dir, base, b, s[0], n == 1);
        if (dir)
            MARK_FIRST(&c, r);
        else
            MARK_BEGIN(&c, r);
        switch (kind) {
        case TCP_OOO:
            /* 0, 2, 1, 3, 4, ... */
            send_seg(&c, &t, dir, base, b, s[2], false);
            send_seg(&c, &t, dir, base, b, s[1], false);
            for (int i = 3; i < n; i++)
                send_seg(&c, &t, dir, base, b, s[i], i == n - 1);
            break;
        case TCP_RETRANS:
            /* 0, 1, 2, (200 ms) 1 and 2 again (retransmissions), 3, ... The
             * segments carrying the timing points are never duplicated. */
            send_seg(&c, &t, dir, base, b, s[1], false);
            send_seg(&c, &t, dir, base, b, s[2], false);
            cap_wait(&c, 200 * MS);
            send_seg(&c, &t, dir, base, b, s[1], false);
            send_seg(&c, &t, dir, base, b, s[2], false);
            for (int i = 3; i < n; i++)
                send_seg(&c, &t, dir, base, b, s[i], i == n - 1);
            break;
        case TCP_OVERLAP: {
            /* 1 sent as [off, off+1000), then [off+500, end of 2): overlaps 500 bytes */
            seg a = {s[1].off, 1000};
            seg bb = {s[1].off + 500, s[1].len - 500 + s[2].len};
            send_seg(&c, &t, dir, base, b, a, false);
            send_seg(&c, &t, dir, base, b, bb, false);
            for (int i = 3; i < n; i++)
                send_seg(&c, &t, dir, base, b, s[i], i == n - 1);
            break;
        }
        case TCP_WRAP:
            for (int i = 1; i < n; i++)
                send_seg(&c, &t, dir, base, b, s[i], i == n - 1);
            break;
        }
        if (dir)
            MARK_END(&c, r);
        else
            MARK_SENT(&c, r);
    }
    conn_close(&c, &t, 1);
    cap_end(&c);
    fcgiw_buf_free(&cb);
    fcgiw_buf_free(&sb);
    free(body);
    free(page);
}

static void sc_tcp(void)
{
    tcp_scenario("tcp_out_of_order", TCP_OOO,
                 "A 5000-byte POST and a 5 KB answer, each direction sending its 2nd and 3rd segments "
                 "swapped. Reassembly must restore the order; no anomaly.");
    tcp_scenario("tcp_retransmission", TCP_RETRANS,
                 "A 5000-byte POST and a 5 KB answer where segments 2 and 3 of each direction are "
                 "retransmitted 200 ms later (exact duplicates). No anomaly.");
    tcp_scenario("tcp_overlap", TCP_OVERLAP,
                 "A 5000-byte POST and a 5 KB answer where a segment is re-sent so that it overlaps "
                 "500 bytes of the previous one (same content). No anomaly.");
    tcp_scenario("tcp_seq_wrap", TCP_WRAP,
                 "A 5000-byte POST and a 5 KB answer whose sequence numbers wrap past 2^32 in both "
                 "directions (ISNs 0xfffff000 and 0xfffffa00). No anomaly.");
}

/* Tiny segments: every record header is split across packets. */
static void sc_tiny(void)
{
    cap c;
    cap_plain(&c, "tcp_tiny_segments",
              "A 100-byte POST sent in 7-byte segments and answered in 5-byte segments, so every "
              "record header and body is split across packets. Timing points are the packets "
              "carrying the first byte of BEGIN_REQUEST / STDOUT and the last byte of the empty "
              "STDIN / END_REQUEST. No anomaly.");
    c.mss = 7;
    netw_tcp t;
    conn_open(&c, &t, 0, 40450, FCGI_PORT, 4444444u, 5555555u);
    uint8_t body[100];
    filler(body, sizeof body, 17);
    memcpy(body, "q=", 2);
    pairs ps;
    ps_std(&ps, "POST", "/tiny.php", (long)sizeof body);
    fcgiw_buf cb, sb;
    fcgiw_buf_init(&cb);
    fcgiw_buf_init(&sb);
    request(&cb, 1, FCGIW_RESPONDER, 0, &ps, body, sizeof body, &Q_NGINX);
    size_t out = response(&sb, 1, "201 Created", "made\n", &R_LIBFCGI);
    xreq *r = new_req(&c, &t, 1);
    uint32_t f0 = send_data(&c, &t, 0, cb.p, cb.len, 7);
    r->t_sent = c.last_ts;
    r->frame = f0;
    r->t_begin = c.last_ts - (int64_t)(c.frame - f0) * c.step;
    cap_wait(&c, 1 * MS);
    uint32_t f = send_data(&c, &t, 1, sb.p, sb.len, 5);
    r->t_end = c.last_ts;
    r->t_first = c.last_ts - (int64_t)(c.frame - f) * c.step;
    req_is(r, "POST", "/tiny.php", 201);
    r->complete = 1;
    r->stdin_bytes = sizeof body;
    r->stdout_bytes = (long long)out;
    r->stderr_bytes = 0;
    req_anoms(r, 0);
    conn_close(&c, &t, 1);
    fcgiw_buf_free(&cb);
    fcgiw_buf_free(&sb);
    cap_end(&c);
}

/* Port reuse: same 4-tuple, new SYN after the first connection closed. */
static void sc_port_reuse(void)
{
    cap c;
    cap_plain(&c, "tcp_port_reuse",
              "Two connections on the same 4-tuple (client port 40400): the second SYN (new ISN) "
              "follows the first connection's FIN/FIN/ACK. Two clean requests, id 1 each.");
    for (int i = 0; i < 2; i++) {
        netw_tcp t;
        conn_open(&c, &t, 0, 40400, FCGI_PORT, i ? 900000000u : 100000000u, i ? 700000000u : 300000000u);
        pairs ps;
        ps_std(&ps, "GET", i ? "/second.php" : "/first.php", -1);
        fcgiw_buf cb, sb;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        request(&cb, 1, FCGIW_RESPONDER, 0, &ps, NULL, 0, &Q_NGINX);
        size_t out = response(&sb, 1, NULL, HTML_OK, &R_LIBFCGI);
        xreq *r = exchange(&c, &t, 1, &cb, &sb, 1 * MS + 500 * US);
        req_is(r, "GET", i ? "/second.php" : "/first.php", 200);
        r->stdout_bytes = (long long)out;
        req_anoms(r, 0);
        conn_close(&c, &t, 1);
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
        cap_wait(&c, 1000 * MS);
    }
    cap_end(&c);
}

/* Capture starts in the middle of a connection: the first packet is the
 * server's, in the middle of a STDOUT record of a request whose start was
 * not captured. Then two complete requests on the same connection. */
static void sc_midstream(void)
{
    cap c;
    cap_plain(&c, "tcp_midstream",
              "Capture starts mid-connection (no SYN): the first packet is the server's, starting "
              "inside a STDOUT record of a request whose BEGIN_REQUEST was not captured (its empty "
              "STDOUT and END_REQUEST follow); then two complete keep-alive requests (id 1). Only "
              "requests whose BEGIN_REQUEST was captured are counted.");
    MUST(&c, "midstream_start");
    MAY(&c, "inactive_request", "capture_gap", "truncated_record");
    netw_tcp t;
    conn_init(&c, &t, 0, 40500, FCGI_PORT, 555555555u, 777777777u);
    /* The tail of the earlier request's answer: 300 bytes of text from the
     * middle of a STDOUT record, then the empty STDOUT and END_REQUEST. */
    fcgiw_buf tail;
    fcgiw_buf_init(&tail);
    uint8_t txt[300];
    filler(txt, sizeof txt, 5);
    fcgiw_put(&tail, txt, sizeof txt);
    fcgiw_stream(&tail, FCGIW_STDOUT, 1, NULL, 0, NULL, true);
    fcgiw_end(&tail, 1, 0, 0);
    send_data(&c, &t, 1, tail.p, tail.len, 0);
    tcp_send(&c, &t, 0, NETW_ACK, NULL, 0);
    fcgiw_buf_free(&tail);
    cap_wait(&c, 10 * MS);
    for (int i = 0; i < 2; i++) {
        pairs ps;
        ps_std(&ps, "GET", i ? "/two.php" : "/one.php", -1);
        fcgiw_buf cb, sb;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        request(&cb, 1, FCGIW_RESPONDER, FCGIW_KEEP_CONN, &ps, NULL, 0, &Q_NGINX);
        size_t out = response(&sb, 1, NULL, HTML_OK, &R_LIBFCGI);
        xreq *r = exchange(&c, &t, 1, &cb, &sb, 2 * MS);
        req_is(r, "GET", i ? "/two.php" : "/one.php", 200);
        r->stdout_bytes = (long long)out;
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
        cap_wait(&c, 5 * MS);
    }
    cap_end(&c);
}

/* A lost client segment in the middle of a STDIN record (never
 * retransmitted in the capture), then a second clean request. */
static void sc_lost(void)
{
    cap c;
    cap_plain(&c, "tcp_lost_segment",
              "Keep-alive connection; the second client segment of a 4000-byte POST (inside the "
              "STDIN record) is missing from the capture; the decoder must resynchronise on the empty "
              "STDIN record. The POST still completes; a second GET on the connection is clean.");
    MUST(&c, "capture_gap");
    MAY(&c, "content_length_mismatch", "truncated_record", "stream_not_terminated", "tcp_ooo_cap");
    netw_tcp t;
    conn_open(&c, &t, 0, 40600, FCGI_PORT, 42424242u, 24242424u);
    size_t blen = 4000;
    uint8_t body[4000];
    filler(body, blen, 21);
    memcpy(body, "blob=", 5);
    pairs ps;
    ps_std(&ps, "POST", "/store.php", (long)blen);
    fcgiw_buf cb, sb;
    fcgiw_buf_init(&cb);
    fcgiw_buf_init(&sb);
    request(&cb, 1, FCGIW_RESPONDER, FCGIW_KEEP_CONN, &ps, body, blen, &Q_NGINX);
    response(&sb, 1, NULL, HTML_OK, &R_LIBFCGI);
    seg cs[8];
    int nc;
    cut(&cb, 1460, cs, &nc);
    uint32_t base = t.next_seq[0];
    t.next_seq[0] += (uint32_t)cb.len;
    xreq *r = new_req(&c, &t, 1);
    req_is(r, "POST", "/store.php", 200);
    r->complete = 1;
    send_seg(&c, &t, 0, base, &cb, cs[0], false);
    MARK_BEGIN(&c, r);
    /* cs[1] lost; the empty STDIN must lie after it, inside cs[2..] */
    if (nc < 3)
        die("tcp_lost_segment: too few segments");
    for (int i = 2; i < nc; i++)
        send_seg(&c, &t, 0, base, &cb, cs[i], i == nc - 1);
    MARK_SENT(&c, r);
    cap_wait(&c, 3 * MS);
    send_data(&c, &t, 1, sb.p, sb.len, 0);
    MARK_FIRST(&c, r);
    MARK_END(&c, r);
    fcgiw_buf_free(&cb);
    fcgiw_buf_free(&sb);
    cap_wait(&c, 5 * MS);
    ps_std(&ps, "GET", "/after.php", -1);
    fcgiw_buf_init(&cb);
    fcgiw_buf_init(&sb);
    request(&cb, 1, FCGIW_RESPONDER, FCGIW_KEEP_CONN, &ps, NULL, 0, &Q_NGINX);
    size_t out = response(&sb, 1, NULL, HTML_OK, &R_LIBFCGI);
    r = exchange(&c, &t, 1, &cb, &sb, 2 * MS);
    req_is(r, "GET", "/after.php", 200);
    r->stdout_bytes = (long long)out;
    req_anoms(r, 0);
    fcgiw_buf_free(&cb);
    fcgiw_buf_free(&sb);
    cap_end(&c);
}

/* ======================================================================
 * Scenarios: FastCGI features
 * ==================================================================== */

/* HAProxy fcgi-app -> Go net/http/fcgi: GET_VALUES, odd ids, KEEP_CONN, no
 * padding, multiplexed, answers out of order, RST at the end. */
static void sc_haproxy(void)
{
    cap c;
    cap_plain(&c, "haproxy_mpx",
              "HAProxy-style multiplexing on one connection: GET_VALUES / GET_VALUES_RESULT "
              "(MPXS_CONNS=1, plus Go's extra empty GET_VALUES_RESULT), requests 1, 3, 5 with KEEP_CONN, "
              "no padding, answered out of order; the client closes with RST after the last answer.");
    MUST(&c, "multiplexed");
    netw_tcp t;
    conn_open(&c, &t, 0, 40700, FCGI_PORT, 1357911u, 2468101u);
    fcgiw_buf b;
    fcgiw_buf_init(&b);
    fcgiw_buf pv;
    fcgiw_buf_init(&pv);
    fcgiw_nv_str(&pv, "FCGI_MAX_REQS", "");
    fcgiw_nv_str(&pv, "FCGI_MPXS_CONNS", "");
    fcgiw_record(&b, FCGIW_GET_VALUES, 0, pv.p, (uint16_t)pv.len, 0);
    send_data(&c, &t, 0, b.p, b.len, 0);
    fcgiw_buf_clear(&b);
    fcgiw_buf_clear(&pv);
    fcgiw_nv_str(&pv, "FCGI_MPXS_CONNS", "1");
    fcgiw_nv_str(&pv, "FCGI_MAX_REQS", "100");
    fcgiw_record(&b, FCGIW_GET_VALUES_RESULT, 0, pv.p, (uint16_t)pv.len, 0);
    fcgiw_record(&b, FCGIW_GET_VALUES_RESULT, 0, NULL, 0, 0);
    cap_wait(&c, 300 * US);
    send_data(&c, &t, 1, b.p, b.len, 0);
    cap_wait(&c, 200 * US);

    xreq *r[3];
    size_t outs[3];
    const char *uris[3] = {"/slow.php", "/fast.php", "/post.php"};
    uint8_t body[700];
    filler(body, sizeof body, 33);
    memcpy(body, "form=", 5);
    for (int i = 0; i < 3; i++) {
        pairs ps;
        ps_std(&ps, i == 2 ? "POST" : "GET", uris[i], i == 2 ? (long)sizeof body : -1);
        ps_set(&ps, "SERVER_SOFTWARE", "HAProxy");
        if (i != 2)
            ps_set(&ps, "CONTENT_LENGTH", "0");
        fcgiw_buf_clear(&b);
        request(&b, (uint16_t)(1 + 2 * i), FCGIW_RESPONDER, FCGIW_KEEP_CONN, &ps,
                i == 2 ? body : NULL, i == 2 ? sizeof body : 0, &Q_HAPROXY);
        r[i] = new_req(&c, &t, 1 + 2 * i);
        send_data(&c, &t, 0, b.p, b.len, 0);
        MARK_BEGIN(&c, r[i]);
        MARK_SENT(&c, r[i]);
        r[i]->method = i == 2 ? "POST" : "GET";
        r[i]->uri = uris[i];
        r[i]->status = 200;
        r[i]->complete = 1;
        r[i]->stdin_bytes = i == 2 ? (long long)sizeof body : 0;
        if (i == 1) {
            /* answer request 3 first */
            cap_wait(&c, 800 * US);
            fcgiw_buf_clear(&b);
            outs[1] = response(&b, 3, NULL, "fast\n", &R_NOPAD);
            send_data(&c, &t, 1, b.p, b.len, 0);
            MARK_FIRST(&c, r[1]);
            MARK_END(&c, r[1]);
        }
        cap_wait(&c, 500 * US);
    }
    cap_wait(&c, 20 * MS);
    for (int k = 0; k < 2; k++) {
        int i = k ? 2 : 0;
        fcgiw_buf_clear(&b);
        outs[i] = response(&b, (uint16_t)(1 + 2 * i), NULL, k ? "posted\n" : "slow\n", &R_NOPAD);
        send_data(&c, &t, 1, b.p, b.len, 0);
        MARK_FIRST(&c, r[i]);
        MARK_END(&c, r[i]);
        cap_wait(&c, 1 * MS);
    }
    for (int i = 0; i < 3; i++)
        r[i]->stdout_bytes = (long long)outs[i];
    netw_tcp_reset(&t, 0, cap_emit, &c);
    fcgiw_buf_free(&b);
    fcgiw_buf_free(&pv);
    cap_end(&c);
}

static void sc_roles(void)
{
    /* FILTER */
    {
        cap c;
        cap_plain(&c, "role_filter",
                  "A FILTER request (role 3): PARAMS with FCGI_DATA_LAST_MOD/FCGI_DATA_LENGTH, an empty "
                  "STDIN stream, a 600-byte DATA stream, then the answer. No anomaly.");
        netw_tcp t;
        conn_open(&c, &t, 0, 40800, FCGI_PORT, 8080808u, 9090909u);
        uint8_t data[601];
        filler(data, 600, 44);
        data[600] = 0;
        pairs ps;
        ps_std(&ps, "GET", "/doc.txt", -1);
        ps_add(&ps, "FCGI_DATA_LAST_MOD", "1767225000");
        ps_add(&ps, "FCGI_DATA_LENGTH", "600");
        fcgiw_buf cb, sb;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        request(&cb, 1, FCGIW_FILTER, 0, &ps, NULL, 0, &Q_NGINX);
        fcgiw_style s = {65535, true};
        fcgiw_stream(&cb, FCGIW_DATA, 1, data, 600, &s, true);
        size_t out = response(&sb, 1, NULL, (const char *)data, &R_LIBFCGI);
        xreq *r = exchange(&c, &t, 1, &cb, &sb, 1 * MS);
        req_is(r, "GET", "/doc.txt", 200);
        r->stdin_bytes = 0;
        r->stdout_bytes = (long long)out;
        req_anoms(r, 0);
        conn_close(&c, &t, 1);
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
        cap_end(&c);
    }
    /* AUTHORIZER */
    {
        cap c;
        cap_plain(&c, "role_authorizer",
                  "Two AUTHORIZER requests (role 2): PARAMS only (no STDIN stream; no SCRIPT_NAME or "
                  "CONTENT_LENGTH, as the spec says); answers 200 with Variable-REMOTE_USER, then 403. "
                  "t_request_sent is the empty PARAMS record. No anomaly.");
        for (int i = 0; i < 2; i++) {
            netw_tcp t;
            conn_open(&c, &t, 0, (uint16_t)(40810 + i), FCGI_PORT, 8180808u + i, 9190909u + i);
            pairs ps;
            ps_std(&ps, "GET", "/private/report.html", -1);
            ps_del(&ps, "SCRIPT_NAME");
            ps_del(&ps, "CONTENT_LENGTH");
            ps_add(&ps, "HTTP_AUTHORIZATION", i ? "Basic bWFsbG9yeTp4" : "Basic YWxpY2U6c2VjcmV0");
            fcgiw_buf cb, sb;
            fcgiw_buf_init(&cb);
            fcgiw_buf_init(&sb);
            qstyle q = Q_NGINX;
            q.no_stdin = true;
            request(&cb, 1, FCGIW_AUTHORIZER, 0, &ps, NULL, 0, &q);
            fcgiw_buf txt;
            fcgiw_buf_init(&txt);
            fcgiw_put_str(&txt, i ? "Status: 403 Forbidden\r\n\r\n" : "Status: 200 OK\r\nVariable-REMOTE_USER: alice\r\n\r\n");
            response_raw(&sb, 1, txt.p, txt.len, &R_LIBFCGI);
            xreq *r = exchange(&c, &t, 1, &cb, &sb, 700 * US);
            req_is(r, "GET", "/private/report.html", i ? 403 : 200);
            r->stdout_bytes = (long long)txt.len;
            req_anoms(r, 0);
            conn_close(&c, &t, 1);
            fcgiw_buf_free(&txt);
            fcgiw_buf_free(&cb);
            fcgiw_buf_free(&sb);
        }
        cap_end(&c);
    }
}

/* A pair straddling two PARAMS records (Go client style), long lengths. */
static void sc_straddle(void)
{
    cap c;
    cap_plain(&c, "nv_straddle",
              "PARAMS stream cut in two records in the middle of the HTTP_USER_AGENT pair (legal; "
              "php-fpm rejects it). Also a 300-byte value (4-byte length) and one short name written "
              "with the 4-byte length form. Go-style answer (header record, body record, empty STDOUT, "
              "END_REQUEST in separate segments).");
    MUST(&c, "nv_straddle");
    netw_tcp t;
    conn_open(&c, &t, 0, 40900, FCGI_PORT, 31313131u, 13131313u);
    pairs ps;
    ps_std(&ps, "GET", "/go.php", -1);
    char cookie[301];
    memset(cookie, 'c', 300);
    cookie[300] = 0;
    memcpy(cookie, "session=", 8);
    ps_add(&ps, "HTTP_COOKIE", cookie);
    fcgiw_buf pb;
    fcgiw_buf_init(&pb);
    size_t cutpos = 0;
    for (int i = 0; i < ps.n; i++) {
        bool ua = strcmp(ps.p[i].name, "HTTP_USER_AGENT") == 0;
        size_t at = pb.len;
        fcgiw_nv(&pb, ps.p[i].name, (uint32_t)ps.p[i].nlen, ps.p[i].value, (uint32_t)ps.p[i].vlen,
                 strcmp(ps.p[i].name, "HTTP_ACCEPT") == 0, false);
        if (ua)
            cutpos = at + 2 + 9; /* inside the name "HTTP_USER_AGENT" */
    }
    fcgiw_buf cb;
    fcgiw_buf_init(&cb);
    fcgiw_begin(&cb, 1, FCGIW_RESPONDER, 0);
    size_t cuts[1] = {cutpos};
    fcgiw_stream_cuts(&cb, FCGIW_PARAMS, 1, pb.p, pb.len, cuts, 1, true, true);
    fcgiw_stream(&cb, FCGIW_STDIN, 1, NULL, 0, &(fcgiw_style){65535, true}, true);
    xreq *r = send_request(&c, &t, &cb);
    MARK_SENT(&c, r);
    cap_wait(&c, 1 * MS + 250 * US);
    fcgiw_buf sb;
    fcgiw_buf_init(&sb);
    const char *hdr = "Content-Type: text/plain; charset=utf-8\r\n\r\n";
    const char *bod = "hello from go\n";
    fcgiw_record(&sb, FCGIW_STDOUT, 1, hdr, (uint16_t)strlen(hdr), fcgiw_pad8(strlen(hdr)));
    send_data(&c, &t, 1, sb.p, sb.len, 0);
    MARK_FIRST(&c, r);
    fcgiw_buf_clear(&sb);
    fcgiw_record(&sb, FCGIW_STDOUT, 1, bod, (uint16_t)strlen(bod), fcgiw_pad8(strlen(bod)));
    send_data(&c, &t, 1, sb.p, sb.len, 0);
    fcgiw_buf_clear(&sb);
    fcgiw_record(&sb, FCGIW_STDOUT, 1, NULL, 0, 0);
    send_data(&c, &t, 1, sb.p, sb.len, 0);
    fcgiw_buf_clear(&sb);
    fcgiw_end(&sb, 1, 0, 0);
    send_data(&c, &t, 1, sb.p, sb.len, 0);
    MARK_END(&c, r);
    req_is(r, "GET", "/go.php", 200);
    r->complete = 1;
    r->stdout_bytes = (long long)(strlen(hdr) + strlen(bod));
    req_anoms(r, 1, "nv_straddle");
    conn_close(&c, &t, 1);
    fcgiw_buf_free(&pb);
    fcgiw_buf_free(&cb);
    fcgiw_buf_free(&sb);
    cap_end(&c);
}

/* ======================================================================
 * Scenarios: one anomaly (family) each
 * ==================================================================== */

/* One connection: the usual GET; hooks may append client bytes after the
 * request (extra_c) or server bytes after the answer (extra_s), or replace
 * the request / response builders. */
typedef struct one {
    cap *c;
    netw_tcp t;
    xreq *r;
} one;

/* Open a connection and run a clean GET with KEEP_CONN (the connection stays
 * open for more bytes). */
static void one_get(cap *c, one *o, uint16_t cport, const char *uri)
{
    o->c = c;
    conn_open(c, &o->t, 0, cport, FCGI_PORT, 7000000u + cport * 13u, 8000000u + cport * 17u);
    pairs ps;
    ps_std(&ps, "GET", uri, -1);
    fcgiw_buf cb, sb;
    fcgiw_buf_init(&cb);
    fcgiw_buf_init(&sb);
    request(&cb, 1, FCGIW_RESPONDER, FCGIW_KEEP_CONN, &ps, NULL, 0, &Q_NGINX);
    size_t out = response(&sb, 1, NULL, HTML_OK, &R_LIBFCGI);
    o->r = exchange(c, &o->t, 1, &cb, &sb, 1 * MS);
    req_is(o->r, "GET", uri, 200);
    o->r->stdout_bytes = (long long)out;
    fcgiw_buf_free(&cb);
    fcgiw_buf_free(&sb);
    cap_wait(c, 2 * MS);
}

/* GET_VALUES asking for one variable, with the given header version and
 * request id (valid: 1 and 0). */
static void get_values(fcgiw_buf *b, uint8_t version, uint16_t id, const char *name)
{
    fcgiw_buf pv;
    fcgiw_buf_init(&pv);
    fcgiw_nv_str(&pv, name, "");
    fcgiw_hdr h = {version, FCGIW_GET_VALUES, id, (uint16_t)pv.len, 0, 0};
    fcgiw_header(b, &h);
    fcgiw_put(b, pv.p, pv.len);
    fcgiw_buf_free(&pv);
}

static void hl_bad_version(fcgiw_buf *b) { get_values(b, 2, 0, "FCGI_MAX_CONNS"); }
static void hl_wrong_direction(fcgiw_buf *b) { get_values(b, 1, 0, "FCGI_MAX_REQS"); }
static void hl_management_id(fcgiw_buf *b) { get_values(b, 1, 1, "FCGI_MPXS_CONNS"); }
static void hl_null_request_id(fcgiw_buf *b) { fcgiw_record(b, FCGIW_STDIN, 0, "orphan", 6, 2); }

static void hl_unknown_type(fcgiw_buf *b)
{
    uint8_t body[8] = {'x', 'y', 'z', 'z', 'y', 0, 0, 0};
    fcgiw_record(b, 20, 0, body, 8, 0);
}

static void hl_unknown_type_reply(fcgiw_buf *b)
{
    uint8_t body[8] = {20, 0, 0, 0, 0, 0, 0, 0};
    fcgiw_record(b, FCGIW_UNKNOWN_TYPE, 0, body, 8, 0);
}

static void hl_bad_body_length(fcgiw_buf *b)
{
    uint8_t body[4] = {20, 0, 0, 0};
    fcgiw_record(b, FCGIW_UNKNOWN_TYPE, 0, body, 4, 4);
}

static void hl_desync(fcgiw_buf *b)
{
    fcgiw_put_str(b, "GET /index.php HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/7.88.1\r\n\r\n");
}

/* Header-level oddities placed AFTER a complete request (one_get), so that
 * whatever a decoder does next (including giving up on the direction) cannot
 * change the request; 5 ms later the client closes. */
typedef struct after_get {
    const char *name, *desc;
    const char *must, *may[4];       /* may: NULL-terminated */
    uint16_t cport;
    const char *uri;
    int dir;                         /* who sends `bytes` */
    void (*bytes)(fcgiw_buf *b);
    void (*reply)(fcgiw_buf *b);     /* the other side's answer 300 µs later, or NULL */
} after_get;

static const after_get AFTER_GET[] = {
    {"bad_version",
     "After a complete keep-alive request the client sends a GET_VALUES record with "
     "version 2 (php-fpm would accept it, nginx would not), then closes.",
     "bad_version", {"desync", "get_values_unanswered"}, 41000, "/v.php", 0, hl_bad_version, NULL},
    {"unknown_type",
     "After a complete keep-alive request the client sends a record of type 20 (id 0, "
     "8-byte body); the server answers UNKNOWN_TYPE naming type 20 (as Go does).",
     "unknown_type", {"desync"}, 41010, "/t.php", 0, hl_unknown_type, hl_unknown_type_reply},
    {"wrong_direction",
     "After a complete keep-alive request the SERVER sends a GET_VALUES record (a client "
     "record type).",
     "wrong_direction", {NULL}, 41020, "/w.php", 1, hl_wrong_direction, NULL},
    {"management_id",
     "After a complete keep-alive request the client sends GET_VALUES with request id 1 "
     "(management records must use id 0).",
     "management_id", {"desync", "inactive_request", "get_values_unanswered"}, 41030, "/m.php", 0, hl_management_id, NULL},
    {"null_request_id",
     "After a complete keep-alive request the client sends a non-empty STDIN record with "
     "request id 0 (the null request id).",
     "null_request_id", {"desync", "inactive_request"}, 41040, "/n.php", 0, hl_null_request_id, NULL},
    {"bad_body_length",
     "After a complete keep-alive request the server sends an UNKNOWN_TYPE record with a "
     "4-byte body (must be 8).",
     "bad_body_length", {"desync"}, 41050, "/b.php", 1, hl_bad_body_length, NULL},
    {"desync",
     "After a complete keep-alive request the client sends a plain HTTP/1.1 request to the "
     "FastCGI port: no valid record header where one must start.",
     "desync", {"bad_version", "unknown_type", "truncated_record"}, 41060, "/d.php", 0, hl_desync, NULL},
};

static void sc_header_level(void)
{
    fcgiw_buf b;
    fcgiw_buf_init(&b);
    for (size_t i = 0; i < sizeof AFTER_GET / sizeof AFTER_GET[0]; i++) {
        const after_get *a = &AFTER_GET[i];
        one o;
        cap c;
        cap_plain(&c, a->name, a->desc);
        MUST(&c, a->must);
        ids_add(&c, c.may, &c.nmay, a->may);
        one_get(&c, &o, a->cport, a->uri);
        fcgiw_buf_clear(&b);
        a->bytes(&b);
        send_data(&c, &o.t, a->dir, b.p, b.len, 0);
        if (a->reply) {
            cap_wait(&c, 300 * US);
            fcgiw_buf_clear(&b);
            a->reply(&b);
            send_data(&c, &o.t, 1 - a->dir, b.p, b.len, 0);
        }
        cap_wait(&c, 5 * MS);
        conn_close(&c, &o.t, 0);
        req_anoms(o.r, 0);
        cap_end(&c);
    }
    fcgiw_buf_free(&b);
}

/* Build a request with the given pairs and body, answer it, server closes.
 * Returns the expectation. */
static xreq *req_with(cap *c, uint16_t cport, const char *method, const char *uri, const pairs *ps,
                      const void *body, size_t blen, const qstyle *q, const char *status,
                      const char *page, const rstyle *rs, int code)
{
    netw_tcp t;
    conn_open(c, &t, 0, cport, FCGI_PORT, 4000000u + cport * 31u, 6000000u + cport * 37u);
    fcgiw_buf cb, sb;
    fcgiw_buf_init(&cb);
    fcgiw_buf_init(&sb);
    request(&cb, 1, FCGIW_RESPONDER, 0, ps, body, blen, q ? q : &Q_NGINX);
    size_t out = response(&sb, 1, status, page ? page : HTML_OK, rs ? rs : &R_LIBFCGI);
    xreq *r = exchange(c, &t, 1, &cb, &sb, 1 * MS + 100 * US);
    req_is(r, method, uri, code);
    r->stdout_bytes = (long long)out;
    conn_close(c, &t, 1);
    fcgiw_buf_free(&cb);
    fcgiw_buf_free(&sb);
    cap_wait(c, 3 * MS);
    return r;
}

/* One change to the standard params: add a pair (+), set a value (=),
 * delete a name (-). Lengths from the literals (a value may hold a NUL). */
typedef struct tweak {
    char op;
    const char *name;
    size_t nlen;
    const char *value;
    size_t vlen;
} tweak;
#define TW(op, name, value) {op, name, sizeof(name) - 1, value, sizeof(value) - 1}

/* A GET of uri whose standard params get the tweaks; it raises `anomaly`. */
typedef struct param_get {
    uint16_t cport;
    const char *method;              /* as expected (NULL: REQUEST_METHOD deleted) */
    const char *uri;
    const char *anomaly;
    tweak tw[4];                     /* up to the first with op 0 */
} param_get;

/* A capture of such GETs, one connection each (req_with). */
typedef struct param_cap {
    const char *name, *desc;
    const char *must[4];             /* NULL-terminated */
    param_get gets[3];               /* up to the first with cport 0 */
} param_cap;

static const param_cap PARAM_CAPS[] = {
    {"nv_nul_empty_name",
     "Connection 1: a parameter value containing a NUL byte (HTTP_X_TOKEN=\"ab\\0cd\"). "
     "Connection 2: a pair with a zero-length name (value \"orphan\").",
     {"nv_nul", "nv_empty_name"},
     {{41100, "GET", "/nul.php", "nv_nul", {TW('+', "HTTP_X_TOKEN", "ab\0cd")}},
      {41101, "GET", "/empty.php", "nv_empty_name", {TW('+', "", "orphan")}}}},
    {"duplicate_param",
     "Connection 1: HTTP_ACCEPT twice (warning). Connection 2: SCRIPT_FILENAME twice with "
     "different values (error: php-fpm takes the last, fcgiwrap the first).",
     {"duplicate_param"},
     {{41110, "GET", "/dup.php", "duplicate_param", {TW('+', "HTTP_ACCEPT", "text/html")}},
      {41111, "GET", "/dup2.php", "duplicate_param", {TW('+', "SCRIPT_FILENAME", "/tmp/upload/evil.php")}}}},
    {"param_security",
     "Three requests: PATH_INFO with a raw LF and REQUEST_URI with %0a (CVE-2019-11043 "
     "pattern); an HTTP_PROXY parameter (httpoxy); PHP_VALUE auto_prepend_file.",
     {"param_ctl_chars", "httpoxy", "php_ini_override"},
     {{41130, "GET", "/index.php/PHP%0Ais_the_shortest?a=1", "param_ctl_chars",
       {TW('=', "SCRIPT_NAME", "/index.php"), TW('=', "SCRIPT_FILENAME", "/var/www/html/index.php"),
        TW('=', "DOCUMENT_URI", "/index.php"), TW('+', "PATH_INFO", "/PHP\nis_the_shortest")}},
      {41131, "GET", "/proxy.php", "httpoxy", {TW('+', "HTTP_PROXY", "http://203.0.113.66:8080")}},
      {41132, "GET", "/ini.php", "php_ini_override", {TW('+', "PHP_VALUE", "auto_prepend_file=php://input")}}}},
    {"missing_required_param",
     "Two RESPONDER requests: one without SCRIPT_FILENAME, one without REQUEST_METHOD.",
     {"missing_required_param"},
     {{41140, "GET", "/nofile.php", "missing_required_param", {TW('-', "SCRIPT_FILENAME", "")}},
      {41141, NULL, "/nomethod.php", "missing_required_param", {TW('-', "REQUEST_METHOD", "")}}}},
};

static void param_cap_write(const param_cap *pc)
{
    cap c;
    cap_plain(&c, pc->name, pc->desc);
    ids_add(&c, c.must, &c.nmust, pc->must);
    for (const param_get *g = pc->gets; g < pc->gets + 3 && g->cport; g++) {
        pairs ps;
        ps_std(&ps, "GET", g->uri, -1);
        for (const tweak *t = g->tw; t < g->tw + 4 && t->op; t++) {
            if (t->op == '+')
                ps_add_len(&ps, t->name, t->nlen, t->value, t->vlen);
            else if (t->op == '=')
                ps_set(&ps, t->name, t->value);
            else
                ps_del(&ps, t->name);
        }
        xreq *r = req_with(&c, g->cport, g->method, g->uri, &ps, NULL, 0, NULL, NULL, NULL, NULL, 200);
        req_anoms(r, 1, g->anomaly);
    }
    cap_end(&c);
}

static void sc_params(void)
{
    cap c;
    pairs ps;
    xreq *r;

    /* In this order: the README lists the captures as they are written. */
    param_cap_write(&PARAM_CAPS[0]);    /* nv_nul_empty_name */
    param_cap_write(&PARAM_CAPS[1]);    /* duplicate_param */

    cap_plain(&c, "content_length",
              "Four POSTs: CONTENT_LENGTH 100 with 60 STDIN bytes (mismatch); CONTENT_LENGTH "
              "\"12abc\" with no body (invalid); a 20-byte body without CONTENT_LENGTH; a 20-byte "
              "body with CONTENT_LENGTH empty (both missing).");
    MUST(&c, "content_length_mismatch", "content_length_invalid", "content_length_missing");
    {
        uint8_t body[100];
        filler(body, sizeof body, 55);
        ps_std(&ps, "POST", "/cl1.php", 100);
        r = req_with(&c, 41120, "POST", "/cl1.php", &ps, body, 60, NULL, NULL, NULL, NULL, 200);
        r->stdin_bytes = 60;
        req_anoms(r, 1, "content_length_mismatch");
        ps_std(&ps, "POST", "/cl2.php", 0);
        ps_set(&ps, "CONTENT_LENGTH", "12abc");
        r = req_with(&c, 41121, "POST", "/cl2.php", &ps, NULL, 0, NULL, NULL, NULL, NULL, 200);
        r->stdin_bytes = 0;
        ps_std(&ps, "POST", "/cl3.php", 20);
        ps_del(&ps, "CONTENT_LENGTH");
        r = req_with(&c, 41122, "POST", "/cl3.php", &ps, body, 20, NULL, NULL, NULL, NULL, 200);
        r->stdin_bytes = 20;
        ps_std(&ps, "POST", "/cl4.php", 20);
        ps_set(&ps, "CONTENT_LENGTH", "");
        r = req_with(&c, 41123, "POST", "/cl4.php", &ps, body, 20, NULL, NULL, NULL, NULL, 200);
        r->stdin_bytes = 20;
    }
    cap_end(&c);

    param_cap_write(&PARAM_CAPS[2]);    /* param_security */
    param_cap_write(&PARAM_CAPS[3]);    /* missing_required_param */

    cap_plain(&c, "nv_overrun",
              "The last pair of the PARAMS stream declares a 50-byte value but only 10 bytes remain "
              "before the empty PARAMS record.");
    MUST(&c, "nv_overrun");
    {
        netw_tcp t;
        conn_open(&c, &t, 0, 41150, FCGI_PORT, 616161u, 626262u);
        ps_std(&ps, "GET", "/overrun.php", -1);
        fcgiw_buf pb, cb, sb;
        fcgiw_buf_init(&pb);
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        ps_encode(&ps, &pb);
        uint8_t l[2] = {9, 50};
        fcgiw_put(&pb, l, 2);
        fcgiw_put_str(&pb, "HTTP_X_CUT");
        fcgiw_put_str(&pb, "0123456789");
        pb.len--; /* name is 9 bytes: HTTP_X_CU, value starts with T */
        fcgiw_begin(&cb, 1, FCGIW_RESPONDER, 0);
        fcgiw_style s = {65535, true};
        fcgiw_stream(&cb, FCGIW_PARAMS, 1, pb.p, pb.len, &s, true);
        fcgiw_stream(&cb, FCGIW_STDIN, 1, NULL, 0, &s, true);
        response(&sb, 1, NULL, HTML_OK, &R_LIBFCGI);
        r = exchange(&c, &t, 1, &cb, &sb, 1 * MS);
        req_is(r, "GET", "/overrun.php", 200);
        conn_close(&c, &t, 1);
        fcgiw_buf_free(&pb);
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
    }
    cap_end(&c);

    cap_plain(&c, "param_cap_exceeded",
              "One request whose PARAMS stream carries ~275 KB (five HTTP_X_FILLER_n pairs of 55000 "
              "bytes, one per 65535-max record, after the usual params): more than the decoder's "
              "default per-request cap of 262144 stored bytes (fsd_limits.max_params_bytes).");
    MUST(&c, "param_cap_exceeded");
    {
        netw_tcp t;
        conn_open(&c, &t, 0, 41160, FCGI_PORT, 717171u, 727272u);
        ps_std(&ps, "GET", "/big.php", -1);
        fcgiw_buf cb, sb, pb;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        fcgiw_buf_init(&pb);
        fcgiw_begin(&cb, 1, FCGIW_RESPONDER, 0);
        ps_encode(&ps, &pb);
        fcgiw_record(&cb, FCGIW_PARAMS, 1, pb.p, (uint16_t)pb.len, fcgiw_pad8(pb.len));
        uint8_t *v = malloc(55000);
        for (int i = 0; i < 5; i++) {
            char nm[32];
            snprintf(nm, sizeof nm, "HTTP_X_FILLER_%d", i + 1);
            filler(v, 55000, (unsigned)(100 + i));
            fcgiw_buf_clear(&pb);
            fcgiw_nv(&pb, nm, (uint32_t)strlen(nm), v, 55000, false, false);
            fcgiw_record(&cb, FCGIW_PARAMS, 1, pb.p, (uint16_t)pb.len, fcgiw_pad8(pb.len));
        }
        free(v);
        fcgiw_record(&cb, FCGIW_PARAMS, 1, NULL, 0, 0);
        fcgiw_record(&cb, FCGIW_STDIN, 1, NULL, 0, 0);
        size_t out = response(&sb, 1, NULL, HTML_OK, &R_LIBFCGI);
        r = exchange(&c, &t, 1, &cb, &sb, 3 * MS);
        req_is(r, "GET", "/big.php", 200);
        r->stdout_bytes = (long long)out;
        req_anoms(r, 1, "param_cap_exceeded");
        conn_close(&c, &t, 1);
        fcgiw_buf_free(&pb);
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
    }
    cap_end(&c);
}

static void sc_records(void)
{
    cap c;
    pairs ps;
    xreq *r;

    cap_plain(&c, "reserved_nonzero",
              "A request whose BEGIN_REQUEST body has non-zero reserved bytes and whose PARAMS record "
              "header has reserved byte 0x5a (HAProxy ignores both).");
    MUST(&c, "reserved_nonzero");
    {
        netw_tcp t;
        conn_open(&c, &t, 0, 41200, FCGI_PORT, 818181u, 828282u);
        ps_std(&ps, "GET", "/res.php", -1);
        fcgiw_buf pb, cb, sb;
        fcgiw_buf_init(&pb);
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        uint8_t body[8];
        fcgiw_begin_body(body, FCGIW_RESPONDER, 0);
        body[3] = 1;
        body[7] = 0xff;
        fcgiw_record(&cb, FCGIW_BEGIN_REQUEST, 1, body, 8, 0);
        ps_encode(&ps, &pb);
        fcgiw_hdr h = {1, FCGIW_PARAMS, 1, (uint16_t)pb.len, fcgiw_pad8(pb.len), 0x5a};
        fcgiw_header(&cb, &h);
        fcgiw_put(&cb, pb.p, pb.len);
        fcgiw_put_byte(&cb, 0, fcgiw_pad8(pb.len));
        fcgiw_record(&cb, FCGIW_PARAMS, 1, NULL, 0, 0);
        fcgiw_record(&cb, FCGIW_STDIN, 1, NULL, 0, 0);
        size_t out = response(&sb, 1, NULL, HTML_OK, &R_LIBFCGI);
        r = exchange(&c, &t, 1, &cb, &sb, 1 * MS);
        req_is(r, "GET", "/res.php", 200);
        r->stdout_bytes = (long long)out;
        conn_close(&c, &t, 1);
        fcgiw_buf_free(&pb);
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
    }
    cap_end(&c);

    cap_plain(&c, "oversized_record",
              "A POST whose STDIN body (65530 bytes) is one record padded to 8: contentLength + "
              "paddingLength = 65536 > 65535 (php-fpm drops such records).");
    MUST(&c, "oversized_record");
    {
        size_t blen = 65530;
        uint8_t *body = malloc(blen);
        filler(body, blen, 66);
        memcpy(body, "big=", 4);
        ps_std(&ps, "POST", "/huge.php", (long)blen);
        qstyle q = Q_NGINX;
        q.stdin_max = 65535;
        r = req_with(&c, 41210, "POST", "/huge.php", &ps, body, blen, &q, NULL, NULL, NULL, 200);
        r->stdin_bytes = (long long)blen;
        free(body);
    }
    cap_end(&c);

    /* truncated_record: the server sends part of a STDOUT record, then FIN. */
    cap_plain(&c, "truncated_record",
              "The server's STDOUT record declares 200 content bytes; only 60 are sent, then the "
              "server closes the connection (FIN): the connection ends inside a record and the "
              "request never gets END_REQUEST.");
    MUST(&c, "truncated_record", "incomplete_request");
    MAY(&c, "stream_not_terminated", "response_no_header");
    {
        netw_tcp t;
        conn_open(&c, &t, 0, 41220, FCGI_PORT, 919191u, 929292u);
        ps_std(&ps, "GET", "/cut.php", -1);
        fcgiw_buf cb, sb;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        request(&cb, 1, FCGIW_RESPONDER, 0, &ps, NULL, 0, &Q_NGINX);
        fcgiw_hdr h = {1, FCGIW_STDOUT, 1, 200, 0, 0};
        fcgiw_header(&sb, &h);
        uint8_t txt[60];
        const char *hd = "Status: 200 OK\r\nContent-type: text/plain\r\n\r\n";
        memcpy(txt, hd, strlen(hd));
        filler(txt + strlen(hd), 60 - strlen(hd), 3);
        fcgiw_put(&sb, txt, 60);
        r = exchange(&c, &t, 1, &cb, &sb, 1 * MS);
        r->t_end = -1;
        r->complete = 0;
        r->method = "GET";
        r->uri = "/cut.php";
        conn_close(&c, &t, 1);
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
    }
    cap_end(&c);

    /* duplicate_end */
    cap_plain(&c, "duplicate_end",
              "A keep-alive request answered normally, then the server sends a second END_REQUEST "
              "for the same request id in a separate segment.");
    MUST(&c, "duplicate_end");
    MAY(&c, "inactive_request");
    {
        one o;
        one_get(&c, &o, 41230, "/twice.php");
        o.r->complete = 1;
        fcgiw_buf b;
        fcgiw_buf_init(&b);
        fcgiw_end(&b, 1, 0, 0);
        send_data(&c, &o.t, 1, b.p, b.len, 0);
        fcgiw_buf_free(&b);
        cap_wait(&c, 5 * MS);
        conn_close(&c, &o.t, 0);
    }
    cap_end(&c);

    /* inactive_request */
    cap_plain(&c, "inactive_request",
              "After a complete keep-alive request the server sends a STDOUT record for request id 2 "
              "and the client a PARAMS record for request id 3; neither id was ever begun.");
    MUST(&c, "inactive_request");
    {
        one o;
        one_get(&c, &o, 41240, "/ghost.php");
        fcgiw_buf b;
        fcgiw_buf_init(&b);
        fcgiw_record(&b, FCGIW_STDOUT, 2, "ghost", 5, 3);
        send_data(&c, &o.t, 1, b.p, b.len, 0);
        fcgiw_buf_clear(&b);
        fcgiw_buf pv;
        fcgiw_buf_init(&pv);
        fcgiw_nv_str(&pv, "HTTP_X_GHOST", "1");
        fcgiw_record(&b, FCGIW_PARAMS, 3, pv.p, (uint16_t)pv.len, fcgiw_pad8(pv.len));
        send_data(&c, &o.t, 0, b.p, b.len, 0);
        fcgiw_buf_free(&pv);
        fcgiw_buf_free(&b);
        cap_wait(&c, 5 * MS);
        conn_close(&c, &o.t, 0);
        req_anoms(o.r, 0);
    }
    cap_end(&c);

    /* duplicate_begin */
    cap_plain(&c, "duplicate_begin",
              "The client sends a complete request id 1 and, before any answer, a second "
              "BEGIN_REQUEST for id 1 (with its own PARAMS and STDIN) in the next segment; the server "
              "answers id 1 once and closes. Whether the second BEGIN starts a new request is the "
              "decoder's choice (request_count 1, or 2).");
    MUST(&c, "duplicate_begin");
    MAY(&c, "data_after_stream_end", "stream_order", "incomplete_request", "stream_not_terminated",
        "duplicate_param", "inactive_request");
    c.count_may[c.ncount_may++] = 2;
    c.partial = true;
    {
        netw_tcp t;
        conn_open(&c, &t, 0, 41250, FCGI_PORT, 1212121u, 2121212u);
        ps_std(&ps, "GET", "/first.php", -1);
        fcgiw_buf cb, sb;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        request(&cb, 1, FCGIW_RESPONDER, 0, &ps, NULL, 0, &Q_NGINX);
        r = send_request(&c, &t, &cb);
        r->method = "GET";
        r->uri = "/first.php";
        r->timing = false;
        fcgiw_buf_clear(&cb);
        ps_std(&ps, "GET", "/second.php", -1);
        request(&cb, 1, FCGIW_RESPONDER, 0, &ps, NULL, 0, &Q_NGINX);
        cap_wait(&c, 200 * US);
        send_data(&c, &t, 0, cb.p, cb.len, 0);
        cap_wait(&c, 1 * MS);
        response(&sb, 1, NULL, HTML_OK, &R_LIBFCGI);
        send_data(&c, &t, 1, sb.p, sb.len, 0);
        conn_close(&c, &t, 1);
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
    }
    cap_end(&c);
}

static void sc_streams(void)
{
    cap c;
    pairs ps;
    xreq *r;

    cap_plain(&c, "stream_not_terminated",
              "A POST whose STDIN carries the whole body but never the empty STDIN record; the "
              "server answers completely (END_REQUEST), so the request ends with STDIN open.");
    MUST(&c, "stream_not_terminated");
    {
        uint8_t body[40];
        filler(body, sizeof body, 9);
        ps_std(&ps, "POST", "/open.php", (long)sizeof body);
        qstyle q = Q_NGINX;
        q.no_stdin_eos = true;
        r = req_with(&c, 41300, "POST", "/open.php", &ps, body, sizeof body, &q, NULL, NULL, NULL, 200);
        r->t_sent = -1;
        r->stdin_bytes = sizeof body;
        r->complete = 1;
        req_anoms(r, 1, "stream_not_terminated");
    }
    cap_end(&c);

    cap_plain(&c, "data_after_stream_end",
              "The client sends a PARAMS record (HTTP_X_LATE) after the empty PARAMS record (before "
              "STDIN); the server sends STDOUT \"late\" after its empty STDOUT record, then END_REQUEST "
              "(HAProxy would drop it).");
    MUST(&c, "data_after_stream_end");
    {
        netw_tcp t;
        conn_open(&c, &t, 0, 41310, FCGI_PORT, 1313131u, 3131313u);
        ps_std(&ps, "GET", "/late.php", -1);
        fcgiw_buf cb, sb, pv;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        fcgiw_buf_init(&pv);
        qstyle q = Q_NGINX;
        q.no_stdin = true;
        request(&cb, 1, FCGIW_RESPONDER, 0, &ps, NULL, 0, &q);
        fcgiw_nv_str(&pv, "HTTP_X_LATE", "1");
        fcgiw_record(&cb, FCGIW_PARAMS, 1, pv.p, (uint16_t)pv.len, fcgiw_pad8(pv.len));
        fcgiw_record(&cb, FCGIW_STDIN, 1, NULL, 0, 0);
        rstyle rs = R_LIBFCGI;
        rs.no_end = true;
        response(&sb, 1, NULL, HTML_OK, &rs);
        fcgiw_record(&sb, FCGIW_STDOUT, 1, "late", 4, 4);
        fcgiw_end(&sb, 1, 0, 0);
        r = exchange(&c, &t, 1, &cb, &sb, 1 * MS);
        req_is(r, "GET", "/late.php", 200);
        conn_close(&c, &t, 1);
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
        fcgiw_buf_free(&pv);
    }
    cap_end(&c);

    cap_plain(&c, "stream_order",
              "Connection 1 (RESPONDER): STDIN data before the empty PARAMS record. Connection 2 "
              "(FILTER): DATA before the empty STDIN record. All client records of a request in one segment.");
    MUST(&c, "stream_order");
    MAY(&c, "stream_not_terminated", "content_length_mismatch", "data_after_stream_end");
    for (int i = 0; i < 2; i++) {
        netw_tcp t;
        conn_open(&c, &t, 0, (uint16_t)(41320 + i), FCGI_PORT, 1414141u + i, 4141414u + i);
        fcgiw_buf cb, sb, pb;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        fcgiw_buf_init(&pb);
        fcgiw_style s = {65535, true};
        if (i == 0) {
            ps_std(&ps, "POST", "/order.php", 3);
            fcgiw_begin(&cb, 1, FCGIW_RESPONDER, 0);
            ps_encode(&ps, &pb);
            fcgiw_stream(&cb, FCGIW_PARAMS, 1, pb.p, pb.len, &s, false);
            fcgiw_stream(&cb, FCGIW_STDIN, 1, "a=1", 3, &s, false);
            fcgiw_stream(&cb, FCGIW_PARAMS, 1, NULL, 0, &s, true);
            fcgiw_stream(&cb, FCGIW_STDIN, 1, NULL, 0, &s, true);
        } else {
            ps_std(&ps, "GET", "/filter.txt", -1);
            ps_add(&ps, "FCGI_DATA_LENGTH", "4");
            fcgiw_begin(&cb, 1, FCGIW_FILTER, 0);
            ps_encode(&ps, &pb);
            fcgiw_stream(&cb, FCGIW_PARAMS, 1, pb.p, pb.len, &s, true);
            fcgiw_stream(&cb, FCGIW_DATA, 1, "text", 4, &s, false);
            fcgiw_stream(&cb, FCGIW_STDIN, 1, NULL, 0, &s, true);
            fcgiw_stream(&cb, FCGIW_DATA, 1, NULL, 0, &s, true);
        }
        response(&sb, 1, NULL, HTML_OK, &R_LIBFCGI);
        r = exchange(&c, &t, 1, &cb, &sb, 1 * MS);
        req_is(r, i ? "GET" : "POST", i ? "/filter.txt" : "/order.php", 200);
        conn_close(&c, &t, 1);
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
        fcgiw_buf_free(&pb);
    }
    cap_end(&c);

    cap_plain(&c, "early_response",
              "The server writes a STDERR record after the client's first PARAMS record but before the "
              "empty PARAMS record arrives; the rest of the request and the answer follow. (server_ns "
              "would be negative and is left out.)");
    MUST(&c, "early_response", "stderr_output");
    {
        netw_tcp t;
        conn_open(&c, &t, 0, 41330, FCGI_PORT, 1515151u, 5151515u);
        ps_std(&ps, "GET", "/early.php", -1);
        fcgiw_buf cb, sb, pb;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        fcgiw_buf_init(&pb);
        fcgiw_style s = {65535, true};
        fcgiw_begin(&cb, 1, FCGIW_RESPONDER, 0);
        ps_encode(&ps, &pb);
        fcgiw_stream(&cb, FCGIW_PARAMS, 1, pb.p, pb.len, &s, false);
        r = send_request(&c, &t, &cb);
        cap_wait(&c, 300 * US);
        const char *err = "early: warming up\n";
        fcgiw_stream(&sb, FCGIW_STDERR, 1, err, strlen(err), &s, false);
        send_data(&c, &t, 1, sb.p, sb.len, 0);
        MARK_FIRST(&c, r);
        cap_wait(&c, 300 * US);
        fcgiw_buf_clear(&cb);
        fcgiw_stream(&cb, FCGIW_PARAMS, 1, NULL, 0, &s, true);
        fcgiw_stream(&cb, FCGIW_STDIN, 1, NULL, 0, &s, true);
        send_data(&c, &t, 0, cb.p, cb.len, 0);
        MARK_SENT(&c, r);
        cap_wait(&c, 1 * MS);
        fcgiw_buf_clear(&sb);
        fcgiw_stream(&sb, FCGIW_STDERR, 1, NULL, 0, &s, true);
        size_t out = response(&sb, 1, NULL, HTML_OK, &R_LIBFCGI);
        send_data(&c, &t, 1, sb.p, sb.len, 0);
        MARK_END(&c, r);
        r->no_server_ns = true;
        req_is(r, "GET", "/early.php", 200);
        r->complete = 1;
        r->stdout_bytes = (long long)out;
        r->stderr_bytes = (long long)strlen(err);
        req_anoms(r, 2, "early_response", "stderr_output");
        conn_close(&c, &t, 1);
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
        fcgiw_buf_free(&pb);
    }
    cap_end(&c);
}

static void sc_end(void)
{
    cap c;
    pairs ps;
    xreq *r;

    cap_plain(&c, "request_aborted",
              "The client sends a request, then ABORT_REQUEST 50 ms later; the server answers with "
              "END_REQUEST only (no STDOUT).");
    MUST(&c, "request_aborted");
    MAY(&c, "end_without_stdout_eos", "stream_not_terminated", "response_no_header");
    {
        netw_tcp t;
        conn_open(&c, &t, 0, 41400, FCGI_PORT, 1616161u, 6161616u);
        ps_std(&ps, "GET", "/sleep.php", -1);
        fcgiw_buf cb, sb;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        request(&cb, 1, FCGIW_RESPONDER, 0, &ps, NULL, 0, &Q_NGINX);
        r = send_request(&c, &t, &cb);
        MARK_SENT(&c, r);
        cap_wait(&c, 50 * MS);
        fcgiw_buf_clear(&cb);
        fcgiw_abort(&cb, 1);
        send_data(&c, &t, 0, cb.p, cb.len, 0);
        cap_wait(&c, 400 * US);
        fcgiw_end(&sb, 1, 0, 0);
        send_data(&c, &t, 1, sb.p, sb.len, 0);
        MARK_END(&c, r);
        req_is(r, "GET", "/sleep.php", 0);
        r->complete = 1;
        conn_close(&c, &t, 1);
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
    }
    cap_end(&c);

    cap_plain(&c, "protocol_status",
              "Three requests answered by END_REQUEST alone: role 9 -> UNKNOWN_ROLE (3); a RESPONDER "
              "-> OVERLOADED (2); a RESPONDER -> protocolStatus 7 (undefined, error severity).");
    MUST(&c, "unknown_role", "protocol_status");
    MAY(&c, "end_without_stdout_eos", "stream_not_terminated", "response_no_header");
    for (int i = 0; i < 3; i++) {
        netw_tcp t;
        conn_open(&c, &t, 0, (uint16_t)(41410 + i), FCGI_PORT, 1717171u + i, 7171717u + i);
        const char *uri = i == 0 ? "/role.php" : i == 1 ? "/busy.php" : "/weird.php";
        ps_std(&ps, "GET", uri, -1);
        fcgiw_buf cb, sb;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        request(&cb, 1, i == 0 ? 9 : FCGIW_RESPONDER, 0, &ps, NULL, 0, &Q_NGINX);
        fcgiw_end(&sb, 1, 0, (uint8_t)(i == 0 ? 3 : i == 1 ? 2 : 7));
        r = exchange(&c, &t, 1, &cb, &sb, 200 * US);
        r->t_first = -1;
        req_is(r, "GET", uri, 0);
        conn_close(&c, &t, 1);
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
    }
    cap_end(&c);

    cap_plain(&c, "keep_conn_violation",
              "Connection 1: the request sets KEEP_CONN but the server closes the connection after "
              "END_REQUEST. Connection 2: the first request clears KEEP_CONN, the server keeps the "
              "connection open and the client sends a second request on it.");
    MUST(&c, "keep_conn_violation");
    {
        netw_tcp t;
        conn_open(&c, &t, 0, 41420, FCGI_PORT, 1818181u, 8181818u);
        ps_std(&ps, "GET", "/kc1.php", -1);
        fcgiw_buf cb, sb;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        request(&cb, 1, FCGIW_RESPONDER, FCGIW_KEEP_CONN, &ps, NULL, 0, &Q_NGINX);
        size_t out = response(&sb, 1, NULL, HTML_OK, &R_LIBFCGI);
        r = exchange(&c, &t, 1, &cb, &sb, 1 * MS);
        req_is(r, "GET", "/kc1.php", 200);
        r->stdout_bytes = (long long)out;
        conn_close(&c, &t, 1);
        cap_wait(&c, 3 * MS);
        conn_open(&c, &t, 0, 41421, FCGI_PORT, 1818182u, 8181819u);
        for (int i = 0; i < 2; i++) {
            const char *uri = i ? "/kc3.php" : "/kc2.php";
            ps_std(&ps, "GET", uri, -1);
            fcgiw_buf_clear(&cb);
            fcgiw_buf_clear(&sb);
            request(&cb, 1, FCGIW_RESPONDER, 0, &ps, NULL, 0, &Q_NGINX);
            out = response(&sb, 1, NULL, HTML_OK, &R_LIBFCGI);
            r = exchange(&c, &t, 1, &cb, &sb, 1 * MS);
            req_is(r, "GET", uri, 200);
            r->stdout_bytes = (long long)out;
            cap_wait(&c, 2 * MS);
        }
        conn_close(&c, &t, 1);
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
    }
    cap_end(&c);

    cap_plain(&c, "incomplete_request",
              "Connection 1: a request the server never answers (the capture ends with the connection "
              "open). Connection 2: the server sends the CGI header and part of the body in complete "
              "STDOUT records, then resets the connection (backend killed).");
    MUST(&c, "incomplete_request");
    MAY(&c, "stream_not_terminated");
    {
        netw_tcp t1, t2;
        conn_open(&c, &t1, 0, 41430, FCGI_PORT, 1919191u, 9191919u);
        ps_std(&ps, "GET", "/hang.php", -1);
        fcgiw_buf cb, sb;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        request(&cb, 1, FCGIW_RESPONDER, 0, &ps, NULL, 0, &Q_NGINX);
        r = new_req(&c, &t1, 1);
        send_data(&c, &t1, 0, cb.p, cb.len, 0);
        MARK_BEGIN(&c, r);
        MARK_SENT(&c, r);
        req_is(r, "GET", "/hang.php", 0);
        r->complete = 0;
        cap_wait(&c, 10 * MS);
        conn_open(&c, &t2, 0, 41431, FCGI_PORT, 1919192u, 9191920u);
        ps_std(&ps, "GET", "/killed.php", -1);
        fcgiw_buf_clear(&cb);
        request(&cb, 1, FCGIW_RESPONDER, 0, &ps, NULL, 0, &Q_NGINX);
        rstyle rs = R_LIBFCGI;
        rs.no_eos = true;
        rs.no_end = true;
        response(&sb, 1, NULL, HTML_OK, &rs);
        r = exchange(&c, &t2, 1, &cb, &sb, 2 * MS);
        r->t_end = -1;
        req_is(r, "GET", "/killed.php", 200);
        r->complete = 0;
        cap_wait(&c, 30 * MS);
        netw_tcp_reset(&t2, 1, cap_emit, &c);
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
    }
    cap_end(&c);

    cap_plain(&c, "cgi_response",
              "Connection 1: STDOUT is plain text without a CGI header block (no blank line). "
              "Connection 2: \"Status: abc\" (not 3 digits).");
    MUST(&c, "response_no_header", "bad_status_header");
    {
        netw_tcp t;
        fcgiw_buf cb, sb;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        for (int i = 0; i < 2; i++) {
            conn_open(&c, &t, 0, (uint16_t)(41440 + i), FCGI_PORT, 2020202u + i, 3030303u + i);
            const char *uri = i ? "/status.php" : "/raw.php";
            ps_std(&ps, "GET", uri, -1);
            fcgiw_buf_clear(&cb);
            fcgiw_buf_clear(&sb);
            request(&cb, 1, FCGIW_RESPONDER, 0, &ps, NULL, 0, &Q_NGINX);
            const char *txt = i ? "Status: abc\r\nContent-type: text/plain\r\n\r\nodd status\n"
                                : "just some text without any header";
            response_raw(&sb, 1, (const uint8_t *)txt, strlen(txt), &R_LIBFCGI);
            r = exchange(&c, &t, 1, &cb, &sb, 1 * MS);
            req_is(r, "GET", uri, i ? -1 : 0);
            r->stdout_bytes = (long long)strlen(txt);
            req_anoms(r, 1, i ? "bad_status_header" : "response_no_header");
            conn_close(&c, &t, 1);
        }
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
    }
    cap_end(&c);

    cap_plain(&c, "cgi_header_cap_exceeded",
              "The CGI response header block is ~22 KB (Status, Content-type, then 500 X-Filler "
              "headers) before the blank line: more than the decoder's default cap of 16384 bytes "
              "(fsd_limits.max_cgi_header_bytes).");
    MUST(&c, "cgi_header_cap_exceeded");
    MAY(&c, "response_no_header");
    {
        netw_tcp t;
        conn_open(&c, &t, 0, 41450, FCGI_PORT, 2121212u, 3131313u);
        ps_std(&ps, "GET", "/headers.php", -1);
        fcgiw_buf cb, sb, txt;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        fcgiw_buf_init(&txt);
        request(&cb, 1, FCGIW_RESPONDER, 0, &ps, NULL, 0, &Q_NGINX);
        fcgiw_put_str(&txt, "Status: 200 OK\r\nContent-type: text/html\r\n");
        for (int i = 0; i < 500; i++) {
            char line[80];
            snprintf(line, sizeof line, "X-Filler-%03d: %s\r\n", i, "abcdefghijklmnopqrstuvwxyz");
            fcgiw_put_str(&txt, line);
        }
        fcgiw_put_str(&txt, "\r\n");
        fcgiw_put_str(&txt, HTML_OK);
        response_raw(&sb, 1, txt.p, txt.len, &R_LIBFCGI);
        r = exchange(&c, &t, 1, &cb, &sb, 2 * MS);
        r->method = "GET";
        r->uri = "/headers.php";
        r->stdout_bytes = (long long)txt.len;
        conn_close(&c, &t, 1);
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
        fcgiw_buf_free(&txt);
    }
    cap_end(&c);
}

/* 1025 requests active at once on one connection. */
static void sc_table_full(void)
{
    cap c;
    cap_plain(&c, "request_table_full",
              "One connection carries 1025 AUTHORIZER requests (ids 1..1025: BEGIN_REQUEST and an "
              "empty PARAMS each) before any answer: one more than the decoder's default of 1024 active "
              "requests (fsd_limits.max_active_requests); id 1025 is not tracked. Then the server "
              "answers all 1025 in order. requests lists ids 1 and 1024 only.");
    MUST(&c, "request_table_full", "multiplexed");
    MAY(&c, "inactive_request");
    c.partial = true;
    c.count_override = 1024;
    netw_tcp t;
    conn_open(&c, &t, 0, 41500, FCGI_PORT, 2222222u, 3333333u);
    const int N = 1025;
    fcgiw_buf b;
    fcgiw_buf_init(&b);
    for (int i = 1; i <= N; i++) {
        fcgiw_begin(&b, (uint16_t)i, FCGIW_AUTHORIZER, FCGIW_KEEP_CONN);
        fcgiw_record(&b, FCGIW_PARAMS, (uint16_t)i, NULL, 0, 0);
    }
    /* 24 bytes per request, 60 per segment */
    uint32_t cframe[32];
    int64_t cts[32];
    int nseg = 0;
    for (size_t off = 0; off < b.len; off += 1440) {
        size_t k = b.len - off < 1440 ? b.len - off : 1440;
        cframe[nseg] = tcp_send(&c, &t, 0, NETW_ACK | NETW_PSH, b.p + off, k);
        cts[nseg++] = c.last_ts;
    }
    cap_wait(&c, 5 * MS);
    fcgiw_buf_clear(&b);
    const char *txt = "Status: 200 OK\r\n\r\n";
    for (int i = 1; i <= N; i++) {
        fcgiw_record(&b, FCGIW_STDOUT, (uint16_t)i, txt, (uint16_t)strlen(txt), 0);
        fcgiw_record(&b, FCGIW_STDOUT, (uint16_t)i, NULL, 0, 0);
        fcgiw_end(&b, (uint16_t)i, 0, 0);
    }
    /* 50 bytes per answer, 28 per segment */
    int64_t sts[64];
    int nsseg = 0;
    for (size_t off = 0; off < b.len; off += 1400) {
        size_t k = b.len - off < 1400 ? b.len - off : 1400;
        tcp_send(&c, &t, 1, NETW_ACK | NETW_PSH, b.p + off, k);
        sts[nsseg++] = c.last_ts;
    }
    int ids[2] = {1, 1024};
    for (int k = 0; k < 2; k++) {
        int i = ids[k];
        xreq *r = new_req(&c, &t, i);
        r->frame = cframe[(i - 1) / 60];
        r->t_begin = r->t_sent = cts[(i - 1) / 60];
        r->t_first = r->t_end = sts[(i - 1) / 28];
        r->status = 200;
        r->complete = 1;
    }
    cap_wait(&c, 5 * MS);
    conn_close(&c, &t, 0);
    fcgiw_buf_free(&b);
    cap_end(&c);
}

/* ======================================================================
 * Capture-level: snaplen, IP fragments, damaged files
 * ==================================================================== */

static void sc_capture_level(void)
{
    cap c;
    pairs ps;

    cap_plain(&c, "snaplen_truncated",
              "File snaplen 1024. The answer's STDOUT record (3000 bytes of text) spans four server "
              "segments; the second (1454 bytes on the wire) was captured with only 1024 bytes. "
              "The decoder resynchronises on the empty STDOUT record; the request completes.");
    c.po.snaplen = 1024;
    MUST(&c, "snaplen_truncated", "capture_gap");
    MAY(&c, "truncated_record", "tcp_ooo_cap");
    {
        netw_tcp t;
        conn_open(&c, &t, 0, 41600, FCGI_PORT, 2323232u, 3232323u);
        ps_std(&ps, "GET", "/long.php", -1);
        fcgiw_buf cb, sb;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        request(&cb, 1, FCGIW_RESPONDER, 0, &ps, NULL, 0, &Q_NGINX);
        if (cb.len > 1024 - 54)
            die("snaplen_truncated: request too big for the snaplen");
        uint8_t page[3001];
        filler(page, 3000, 77);
        page[3000] = 0;
        rstyle rs = R_LIBFCGI;
        rs.max = 8184;
        response(&sb, 1, NULL, (const char *)page, &rs);
        xreq *r = send_request(&c, &t, &cb);
        MARK_SENT(&c, r);
        cap_wait(&c, 2 * MS);
        /* server: 800, then 1400 (truncated to 1024 captured), then the rest in 800s */
        size_t off = 0;
        size_t first = 800;
        tcp_send(&c, &t, 1, NETW_ACK, sb.p, first);
        MARK_FIRST(&c, r);
        off += first;
        size_t len = netw_tcp_packet(&t, 1, NETW_ACK, sb.p + off, 1400, g_pkt, sizeof g_pkt);
        write_frame(&c, g_pkt, 1024, len);
        off += 1400;
        while (off < sb.len) {
            size_t k = sb.len - off < 800 ? sb.len - off : 800;
            tcp_send(&c, &t, 1, NETW_ACK | (off + k == sb.len ? NETW_PSH : 0), sb.p + off, k);
            off += k;
        }
        MARK_END(&c, r);
        req_is(r, "GET", "/long.php", 200);
        r->complete = 1;
        conn_close(&c, &t, 1);
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
    }
    cap_end(&c);

    cap_plain(&c, "ip_fragment",
              "Two 3000-byte POSTs, one over IPv4 and one over IPv6, whose second client segment "
              "travels as two IP fragments (IPv4 offsets 0 and 1024; IPv6 Fragment header, offsets 0 "
              "and 1024). fcgiscope does not reassemble IP: the fragments are reported and their "
              "bytes are a gap; the decoder resynchronises on the empty STDIN record.");
    MUST(&c, "ip_fragment");
    MAY(&c, "capture_gap", "content_length_mismatch", "truncated_record", "tcp_ooo_cap");
    for (int v6 = 0; v6 < 2; v6++) {
        netw_tcp t;
        conn_open(&c, &t, v6, (uint16_t)(41610 + v6), FCGI_PORT, 2424242u + v6, 4242424u + v6);
        uint8_t body[3000];
        filler(body, sizeof body, 88);
        memcpy(body, "f=", 2);
        ps_std(&ps, "POST", "/frag.php", (long)sizeof body);
        fcgiw_buf cb, sb;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        request(&cb, 1, FCGIW_RESPONDER, 0, &ps, body, sizeof body, &Q_NGINX);
        size_t out = response(&sb, 1, NULL, HTML_OK, &R_LIBFCGI);
        seg cs[8];
        int nc;
        size_t mss = v6 ? 1440 : 1460;
        cut(&cb, mss, cs, &nc);
        if (nc < 3)
            die("ip_fragment: too few segments");
        uint32_t base = t.next_seq[0];
        t.next_seq[0] += (uint32_t)cb.len;
        xreq *r = new_req(&c, &t, 1);
        send_seg(&c, &t, 0, base, &cb, cs[0], false);
        MARK_BEGIN(&c, r);
        /* fragment cs[1]: the first fragment carries 1024 bytes of the TCP segment */
        uint8_t segb[1600];
        size_t sl = netw_tcp_segment_at(&t, 0, base + (uint32_t)cs[1].off, NETW_ACK, cb.p + cs[1].off,
                                        cs[1].len, segb, sizeof segb);
        netw_ip_opts fo = c.ipo;
        if (v6) {
            fo.ext[0] = 44;
            fo.next = 1;
            fo.frag_ident = 0x00424242u;
        }
        fo.more_fragments = true;
        fo.frag_offset = 0;
        uint16_t id = 0x4242;
        size_t fl = netw_build_ip(g_pkt, sizeof g_pkt, &t.link, 0, &t.ep[0], &t.ep[1], 6, &fo, id, segb, 1024);
        write_frame(&c, g_pkt, fl, fl);
        fo.more_fragments = false;
        fo.frag_offset = 1024;
        fl = netw_build_ip(g_pkt, sizeof g_pkt, &t.link, 0, &t.ep[0], &t.ep[1], 6, &fo, id, segb + 1024,
                           sl - 1024);
        write_frame(&c, g_pkt, fl, fl);
        for (int i = 2; i < nc; i++)
            send_seg(&c, &t, 0, base, &cb, cs[i], i == nc - 1);
        MARK_SENT(&c, r);
        cap_wait(&c, 2 * MS);
        send_data(&c, &t, 1, sb.p, sb.len, v6 ? 1440 : 0);
        MARK_FIRST(&c, r);
        MARK_END(&c, r);
        req_is(r, "POST", "/frag.php", 200);
        r->complete = 1;
        r->stdout_bytes = (long long)out;
        conn_close(&c, &t, 1);
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
        cap_wait(&c, 3 * MS);
    }
    cap_end(&c);
}

static void write_raw(const char *name, const void *p, size_t n)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", g_outdir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
        die("%s: write failed", path);
}

static void sc_damaged(void)
{
    cap c;
    /* empty */
    cap_begin(&c, "damaged_empty", NETW_LINK_ETHERNET, PCAPW_PCAP, false, false);
    fclose(c.f);
    write_raw("damaged_empty.pcap", "", 0);
    c.desc = "An empty file (0 bytes): not a capture. Fatal.";
    c.has_error = c.err_fatal = true;
    c.exit_status = 2;
    write_expect(&c);
    printf("damaged_empty.pcap\n");

    cap_begin(&c, "damaged_text", NETW_LINK_ETHERNET, PCAPW_PCAP, false, false);
    fclose(c.f);
    {
        const char *txt = "This is not a capture file.\nIt is plain text, written by fcgiscope-craft.\n";
        write_raw("damaged_text.pcap", txt, strlen(txt));
    }
    c.desc = "A text file with a .pcap name: not a capture. Fatal.";
    c.has_error = c.err_fatal = true;
    c.exit_status = 2;
    write_expect(&c);
    printf("damaged_text.pcap\n");

    /* unknown link type: a good capture whose header says link type 65000 */
    cap_begin(&c, "damaged_linktype", NETW_LINK_ETHERNET, PCAPW_PCAP, false, false);
    c.po.linktype = 65000;
    c.desc = "A capture whose file header gives link type 65000 (unassigned; the packets are Ethernet). "
             "Fatal: no link layer to decode.";
    c.has_error = c.err_fatal = true;
    c.exit_status = 2;
    simple_conn(&c, 0, 41700, FCGI_PORT, "GET", "/index.php", NULL, 0, NULL, 200);
    c.nreqs = 0;
    cap_end(&c);

    /* truncated mid-packet */
    cap_plain(&c, "damaged_truncated",
              "A good capture cut in the middle of its last packet (the answer to the second request "
              "of a keep-alive connection): the first request is complete, the second has no answer.");
    c.has_error = true;
    c.err_fatal = false;
    c.exit_status = 0;
    MUST(&c, "capture_truncated", "incomplete_request");
    MAY(&c, "stream_not_terminated");
    uint64_t cut_at = 0;
    {
        one o;
        one_get(&c, &o, 41710, "/ok.php");
        req_anoms(o.r, 0);
        pairs ps;
        ps_std(&ps, "GET", "/cut.php", -1);
        fcgiw_buf cb, sb;
        fcgiw_buf_init(&cb);
        fcgiw_buf_init(&sb);
        request(&cb, 1, FCGIW_RESPONDER, FCGIW_KEEP_CONN, &ps, NULL, 0, &Q_NGINX);
        uint8_t page[1001];
        filler(page, 1000, 99);
        page[1000] = 0;
        response(&sb, 1, NULL, (const char *)page, &R_LIBFCGI);
        xreq *r = new_req(&c, &o.t, 1);
        send_data(&c, &o.t, 0, cb.p, cb.len, 0);
        MARK_BEGIN(&c, r);
        MARK_SENT(&c, r);
        req_is(r, "GET", "/cut.php", 0);
        r->complete = 0;
        cap_wait(&c, 1 * MS);
        cap_open_writer(&c);
        uint64_t before = pcapw_offset(c.w);
        size_t len = netw_tcp_packet(&o.t, 1, NETW_ACK | NETW_PSH, sb.p, sb.len, g_pkt, sizeof g_pkt);
        write_frame(&c, g_pkt, len, len);
        c.err_frame = c.frame;
        cut_at = before + 16 + len / 2; /* record header + half the packet */
        fcgiw_buf_free(&cb);
        fcgiw_buf_free(&sb);
    }
    cap_end(&c);
    {
        char path[1100];
        snprintf(path, sizeof path, "%s/damaged_truncated.pcap", g_outdir);
        FILE *f = fopen(path, "rb");
        uint8_t *all = malloc(cut_at);
        if (!f || !all || fread(all, 1, cut_at, f) != cut_at)
            die("%s: re-read failed", path);
        fclose(f);
        write_raw("damaged_truncated.pcap", all, cut_at);
        free(all);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    g_outdir = argv[1];
    sc_baseline();
    sc_keepalive();
    sc_phpfpm();
    sc_tcp();
    sc_port_reuse();
    sc_tiny();
    sc_midstream();
    sc_lost();
    sc_haproxy();
    sc_roles();
    sc_straddle();
    sc_header_level();
    sc_params();
    sc_records();
    sc_streams();
    sc_end();
    sc_table_full();
    sc_capture_level();
    sc_damaged();
    write_readme();
    return 0;
}
