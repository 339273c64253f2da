/* out_json.c — the JSON lines: one object per request and per anomaly, and the summary.
 *
 * Normative reference: see out.h; the fields are documented in analyzer/README.md
 * "Output formats" (change both together).
 */
#include "out_internal.h"
#include "unixcap.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON ------------------------------------------------------------------ */

/* Keys are string literals: ",\"key\":" is assembled at compile time. */
#define J_KEY(b, k) SBUF_ADDL(b, ",\"" k "\":")

/* A key known only at run time (trusted: ours, not the traffic's). */
static void j_key(sbuf *b, const char *k)
{
    SBUF_ADDL(b, ",\"");
    fcs_sbuf_adds(b, k);
    SBUF_ADDL(b, "\":");
}

static void j_str_(sbuf *b, const rstr *s)
{
    if (s->p)
        fcs_esc_json(b, s->p, s->len);
    else
        SBUF_ADDL(b, "null");
}
#define j_str(b, k, s) (J_KEY(b, k), j_str_(b, s))

static void j_cstr_(sbuf *b, const char *s)
{
    if (s)
        fcs_esc_json(b, s, strlen(s));
    else
        SBUF_ADDL(b, "null");
}
#define j_cstr(b, k, s) (J_KEY(b, k), j_cstr_(b, s))

#define j_u64(b, k, v) (J_KEY(b, k), fcs_sbuf_add_u64(b, (v)))

static void j_i64_or_null_(sbuf *b, bool has, int64_t v)
{
    if (has)
        fcs_sbuf_add_i64(b, v);
    else
        SBUF_ADDL(b, "null");
}
#define j_i64_or_null(b, k, has, v) (J_KEY(b, k), j_i64_or_null_(b, (has), (v)))

static void j_bool_(sbuf *b, bool v)
{
    if (v)
        SBUF_ADDL(b, "true");
    else
        SBUF_ADDL(b, "false");
}
#define j_bool(b, k, v) (J_KEY(b, k), j_bool_(b, (v)))




/* The fields of what the user got (analyzer/README.md "Request fields"). */
static void json_user_fields(out_ctx *c, const req_rec *r)
{
    sbuf *b = &c->line;
    j_cstr(b, "severity", sev_name_or_null(r->worst));
    j_cstr(b, "status_source", fsd_status_source_name(r->status_source));
    j_i64_or_null(b, "user_status", r->user_status != 0, r->user_status);
    j_cstr(b, "user_outcome", fsd_user_outcome_name(r->user_outcome));
    j_i64_or_null(b, "elapsed_us", r->has_elapsed, ns_to_us(r->elapsed_ns));
    if (c->ns)
        j_i64_or_null(b, "elapsed_ns", r->has_elapsed, r->elapsed_ns);
    j_cstr(b, "closed_by", closed_by_name(r));
    j_cstr(b, "close", close_name(r));
    j_i64_or_null(b, "abandoned_after_us", r->has_abandoned, ns_to_us(r->abandoned_ns));
    if (c->ns)
        j_i64_or_null(b, "abandoned_after_ns", r->has_abandoned, r->abandoned_ns);
    j_bool(b, "gap", r->gap);
}


/* --unix: the processes at both ends of the request's connection (unixcap.h:
 * the synthetic client address names the connection). */
static void json_unix_who(sbuf *b, const char *client)
{
    fcs_unix_who w;
    memset(&w, 0, sizeof w);
    uint8_t ip[4];
    uint16_t port;
    bool ok = unix_client(client, ip, &port) && fcs_unix_who_get(ip, port, &w);
    j_i64_or_null(b, "client_pid", ok && w.client_pid, ok ? (int64_t)w.client_pid : 0);
    j_cstr(b, "client_comm", ok && w.client_comm[0] ? w.client_comm : NULL);
    j_i64_or_null(b, "server_pid", ok && w.server_pid, ok ? (int64_t)w.server_pid : 0);
    j_cstr(b, "server_comm", ok && w.server_comm[0] ? w.server_comm : NULL);
}

/* --host-name: "hostname" second on every line (docs/FLEET.md). */
static void j_host_name(out_ctx *c)
{
    if (c->o->host_name)
        j_cstr(&c->line, "hostname", c->o->host_name);
}

void json_request(out_ctx *c, const req_rec *r)
{
    sbuf *b = &c->line;
    char t[64];
    SBUF_ADDL(b, "{\"type\":\"request\"");
    j_host_name(c);
    j_cstr(b, "client", r->client);
    j_cstr(b, "server", r->server);
    j_u64(b, "connection", r->conn_id);
    j_u64(b, "request_id", r->request_id);
    j_cstr(b, "role", fsd_role_name(r->role));
    j_bool(b, "keep_conn", r->keep_conn);
    j_str(b, "method", &r->method);
    j_str(b, "uri", &r->uri);
    j_str(b, "script", &r->script);
    j_str(b, "host", &r->host);
    j_i64_or_null(b, "status", r->status != 0, r->status);
    j_i64_or_null(b, "app_status", r->has_end, r->app_status);
    j_i64_or_null(b, "protocol_status", r->has_end, r->protocol_status);
    J_KEY(b, "start");
    if (r->has_begin) {
        /* the digits and punctuation of a time need no escaping */
        fmt_rfc3339(t, sizeof t, r->t_begin_ns, c->ns);
        fcs_sbuf_addc(b, '"');
        fcs_sbuf_adds(b, t);
        fcs_sbuf_addc(b, '"');
    } else {
        SBUF_ADDL(b, "null");
    }
    j_i64_or_null(b, "latency_us", r->has_latency, ns_to_us(r->latency_ns));
    j_i64_or_null(b, "ttfb_us", r->has_ttfb, ns_to_us(r->ttfb_ns));
    j_i64_or_null(b, "server_us", r->has_server, ns_to_us(r->server_ns));
    if (c->ns) {
        j_i64_or_null(b, "latency_ns", r->has_latency, r->latency_ns);
        j_i64_or_null(b, "ttfb_ns", r->has_ttfb, r->ttfb_ns);
        j_i64_or_null(b, "server_ns", r->has_server, r->server_ns);
    }
    j_u64(b, "stdin_bytes", r->stdin_bytes);
    j_u64(b, "stdout_bytes", r->stdout_bytes);
    j_u64(b, "stderr_bytes", r->stderr_bytes);
    j_i64_or_null(b, "content_length", r->content_length >= 0, r->content_length);
    j_str(b, "content_type", &r->content_type);
    j_bool(b, "complete", r->complete);
    j_cstr(b, "end", fsd_end_reason_name(r->end_reason));
    j_bool(b, "aborted", r->aborted);
    uint64_t fr;
    const char *file = where(c, r->has_begin ? r->frame : 0, &fr);
    J_KEY(b, "file");
    if (file)
        fcs_esc_json(b, file, strlen(file));
    else
        SBUF_ADDL(b, "null");
    j_i64_or_null(b, "frame", r->has_begin, (int64_t)fr);
    j_i64_or_null(b, "connect_us", r->has_connect, ns_to_us(r->connect_ns));
    if (c->ns)
        j_i64_or_null(b, "connect_ns", r->has_connect, r->connect_ns);
    j_i64_or_null(b, "syn_retransmits", r->has_connect, r->syn_retransmits);
    j_i64_or_null(b, "queue_us", r->has_queue, ns_to_us(r->queue_ns));
    j_i64_or_null(b, "run_us", r->has_run, ns_to_us(r->run_ns));
    if (c->ns) {
        j_i64_or_null(b, "queue_ns", r->has_queue, r->queue_ns);
        j_i64_or_null(b, "run_ns", r->has_run, r->run_ns);
    }
    J_KEY(b, "anomalies");
    fsd_anomaly_id ids[FSD_A_COUNT];
    size_t n = fcs_req_anomaly_ids(r, ids, FSD_A_COUNT);
    fcs_sbuf_addc(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            fcs_sbuf_addc(b, ',');
        /* catalogue ids are [a-z0-9_]: nothing to escape */
        fcs_sbuf_addc(b, '"');
        fcs_sbuf_adds(b, fsd_anomaly_name(ids[i]));
        fcs_sbuf_addc(b, '"');
    }
    fcs_sbuf_addc(b, ']');
    json_user_fields(c, r);
    j_u64(b, "attempt", r->attempt ? r->attempt : 1);
    j_bool(b, "retried", r->retried);
    if (c->o->unix_path || c->o->relay_path)
        json_unix_who(b, r->client);
    J_KEY(b, "params");
    fcs_sbuf_addc(b, '{');
    for (size_t k = 0; k < r->nparams && k < c->o->nparams; k++) {
        if (k)
            fcs_sbuf_addc(b, ',');
        fcs_esc_json(b, c->o->params[k], strlen(c->o->params[k]));
        fcs_sbuf_addc(b, ':');
        if (r->params[k].p)
            fcs_esc_json(b, r->params[k].p, r->params[k].len);
        else
            SBUF_ADDL(b, "null");
    }
    SBUF_ADDL(b, "}}\n");
}

void json_anomaly(out_ctx *c, const anom_rec *a)
{
    sbuf *b = &c->line;
    char t[64];
    fcs_sbuf_adds(b, "{\"type\":\"anomaly\"");
    j_host_name(c);
    j_cstr(b, "id", fsd_anomaly_name(a->id));
    j_cstr(b, "severity", fsd_severity_name(a->severity));
    uint64_t fr;
    const char *file = where(c, a->frame, &fr);
    J_KEY(b, "file");
    if (file)
        fcs_esc_json(b, file, strlen(file));
    else
        SBUF_ADDL(b, "null");
    j_i64_or_null(b, "frame", a->frame != 0, (int64_t)fr);
    if (a->has_ts)
        fmt_rfc3339(t, sizeof t, a->ts_ns, c->ns);
    j_cstr(b, "time", a->has_ts ? t : NULL);
    j_i64_or_null(b, "connection", a->conn_id != 0, (int64_t)a->conn_id);
    j_cstr(b, "client", a->client[0] ? a->client : NULL); /* handshake events: no FastCGI connection number, but their addresses */
    j_cstr(b, "server", a->server[0] ? a->server : NULL);
    j_cstr(b, "dir", a->has_dir ? fsd_dir_name(a->dir) : NULL);
    j_i64_or_null(b, "request_id", a->request_id >= 0, a->request_id);
    j_cstr(b, "detail", a->detail);
    j_cstr(b, "message", fsd_anomaly_summary(a->id));
    fcs_sbuf_adds(b, "}\n");
}

/* ---- summary: JSON ---------------------------------------------------------- */

static void j_lat(out_ctx *c, const char *key, const hist *h, bool ns_units)
{
    sbuf *b = &c->line;
    j_key(b, key);
    if (h->count == 0) {
        fcs_sbuf_adds(b, "null");
        return;
    }
    static const double ps[] = {50, 90, 99};
    static const char *const pn[] = {"p50", "p90", "p99"};
    fcs_sbuf_printf(b, "{\"count\":%" PRIu64, h->count);
    int64_t v = (int64_t)h->min;
    fcs_sbuf_printf(b, ",\"min\":%" PRId64, ns_units ? v : ns_to_us(v));
    for (int i = 0; i < 3; i++) {
        v = (int64_t)fcs_hist_percentile(h, ps[i]);
        fcs_sbuf_printf(b, ",\"%s\":%" PRId64, pn[i], ns_units ? v : ns_to_us(v));
    }
    v = (int64_t)h->max;
    fcs_sbuf_printf(b, ",\"max\":%" PRId64, ns_units ? v : ns_to_us(v));
    long double mean = h->sum / (long double)h->count;
    v = (int64_t)(mean + 0.5L);
    fcs_sbuf_printf(b, ",\"mean\":%" PRId64 "}", ns_units ? v : ns_to_us(v));
}

/* "user_statuses" (per user request: what the user got from its last
 * attempt; "none": the wire cannot tell) and "user_outcomes" (FastCGI
 * requests by fsd_user_outcome). */
/* "key":{"200":n,...,"none":n}: a count per HTTP status, 0 = none. */
static void j_status_map(sbuf *b, const char *key, const uint64_t counts[1000])
{
    j_key(b, key);
    fcs_sbuf_addc(b, '{');
    bool first = true;
    for (int k = 1; k < 1000; k++) {
        if (!counts[k])
            continue;
        fcs_sbuf_printf(b, "%s\"%d\":%" PRIu64, first ? "" : ",", k, counts[k]);
        first = false;
    }
    if (counts[0])
        fcs_sbuf_printf(b, "%s\"none\":%" PRIu64, first ? "" : ",", counts[0]);
    fcs_sbuf_addc(b, '}');
}

static void json_user_summary(out_ctx *c, const stats *st)
{
    sbuf *b = &c->line;
    j_status_map(b, "user_statuses", st->user_status);
    j_key(b, "user_outcomes");
    fcs_sbuf_addc(b, '{');
    for (int o = 0; o <= FSD_USER_BACKEND_FAILED; o++)
        fcs_sbuf_printf(b, "%s\"%s\":%" PRIu64, o ? "," : "", fsd_user_outcome_name((fsd_user_outcome)o),
                        st->user_outcomes[o]);
    fcs_sbuf_addc(b, '}');
}

/* A files[] entry's per-file findings (several files: which one holds
 * what). */
static void json_file_more(out_ctx *c, const out_summary *s, size_t i)
{
    sbuf *b = &c->line;
    const fcs_cap_file_info *fi = &s->files[i];
    const out_file_stats *fs = s->file_stats ? &s->file_stats[i] : NULL;
    char t[64];
    j_bool(b, "unreadable", fi->unreadable);
    j_u64(b, "requests", fs ? fs->requests : 0);
    if (fi->have_ts)
        fmt_rfc3339(t, sizeof t, fi->first_ts, c->ns);
    j_cstr(b, "first", fi->have_ts ? t : NULL);
    if (fi->have_ts)
        fmt_rfc3339(t, sizeof t, fi->last_ts, c->ns);
    j_cstr(b, "last", fi->have_ts ? t : NULL);
    j_cstr(b, "max_severity", fs && fs->worst ? fsd_severity_name(fs->worst) : NULL);
    j_cstr(b, "error", fi->error);
}

/* files[]: each input file as read. */
static void json_files(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    j_key(b, "files");
    fcs_sbuf_addc(b, '[');
    for (size_t i = 0; i < s->nfiles; i++) {
        const fcs_cap_file_info *fi = &s->files[i];
        fcs_sbuf_adds(b, i ? ",{" : "{");
        fcs_sbuf_adds(b, "\"name\":");
        fcs_esc_json(b, fi->name, strlen(fi->name));
        fcs_sbuf_printf(b, ",\"format\":\"%s\",\"precision\":\"%s\",\"link_type\":%d", fmt_name(fi->format),
                        prec_name(fi->precision), fi->dlt);
        fcs_sbuf_printf(b, ",\"packets\":%" PRIu64 ",\"damaged\":%s", fi->packets,
                        fi->damaged ? "true" : "false");
        json_file_more(c, s, i);
        fcs_sbuf_addc(b, '}');
    }
    fcs_sbuf_addc(b, ']');
}

/* What was captured: the device or files' span, packets, flows,
 * connections, what was not tracked. */
static void json_capture(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    char t[64];
    j_cstr(b, "interface", s->device);
    if (s->device)
        j_cstr(b, "filter", s->filter);
    j_cstr(b, "precision", c->ns ? "ns" : "us");
    j_u64(b, "packets", s->t.packets);
    j_u64(b, "bytes", s->t.bytes);
    if (s->c.have_ts) {
        fmt_rfc3339(t, sizeof t, s->c.first_ts, c->ns);
        j_cstr(b, "first", t);
        fmt_rfc3339(t, sizeof t, s->c.last_ts, c->ns);
        j_cstr(b, "last", t);
        j_u64(b, "duration_us", (uint64_t)ns_to_us(s->c.last_ts - s->c.first_ts));
    } else {
        j_cstr(b, "first", NULL);
        j_cstr(b, "last", NULL);
        j_cstr(b, "duration_us", NULL);
    }
    j_u64(b, "tcp_flows", s->t.flows_seen);
    j_u64(b, "connections", s->c.connections);
    fcs_sbuf_printf(b, ",\"untracked\":{\"flows\":%" PRIu64 ",\"fastcgi_port_flows\":%" PRIu64
                       ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"table_full\":%" PRIu64
                       ",\"requests\":%" PRIu64 ",\"request_records\":%" PRIu64
                       ",\"request_bytes\":%" PRIu64 "}",
                    s->t.untracked_flows, s->t.untracked_port_flows, s->t.untracked_packets,
                    s->t.untracked_bytes, s->t.table_full_events, s->c.untracked_requests,
                    s->c.untracked_records, s->c.untracked_bytes);
}

/* Requests: counts, end reasons, statuses, what the users got. */
static void json_requests(out_ctx *c, const stats *st)
{
    sbuf *b = &c->line;
    fcs_sbuf_printf(b, ",\"requests\":{\"total\":%" PRIu64 ",\"complete\":%" PRIu64
                       ",\"incomplete\":%" PRIu64 "}",
                    st->requests, st->complete, st->incomplete);
    j_u64(b, "user_requests", st->user_requests);
    j_u64(b, "retried_attempts", st->retried_attempts);
    j_key(b, "end_reasons");
    fcs_sbuf_addc(b, '{');
    bool first = true;
    for (int r = 0; r <= FSD_END_DESYNC; r++) {
        if (!st->end_reasons[r])
            continue;
        fcs_sbuf_printf(b, "%s\"%s\":%" PRIu64, first ? "" : ",", fsd_end_reason_name((fsd_end_reason)r),
                        st->end_reasons[r]);
        first = false;
    }
    fcs_sbuf_addc(b, '}');
    j_status_map(b, "statuses", st->status);
    json_user_summary(c, st);
}

/* The latency percentiles (and "queue_waited"). */
static void json_latencies(out_ctx *c, const stats *st)
{
    sbuf *b = &c->line;
    j_lat(c, "latency_us", &st->latency, false);
    if (c->ns)
        j_lat(c, "latency_ns", &st->latency, true);
    j_lat(c, "ttfb_us", &st->ttfb, false);
    j_lat(c, "server_us", &st->server, false);
    j_lat(c, "queue_us", &st->queue, false);
    j_lat(c, "run_us", &st->run, false);
    j_key(b, "queue_waited");
    if (st->queue.count)
        fcs_sbuf_printf(b, "%" PRIu64, st->queue_waited);
    else
        fcs_sbuf_adds(b, "null");
}

/* scripts[]: the --top busiest scripts. */
static void json_scripts(out_ctx *c, const stats *st)
{
    sbuf *b = &c->line;
    j_key(b, "scripts");
    fcs_sbuf_addc(b, '[');
    unsigned top = c->o->top_scripts;
    const script_stat **sc = top ? malloc(top * sizeof *sc) : NULL;
    size_t nsc = sc ? fcs_stats_top_scripts(st, sc, top) : 0;
    for (size_t i = 0; i < nsc; i++) {
        fcs_sbuf_adds(b, i ? ",{\"script\":" : "{\"script\":");
        if (sc[i]->absent || sc[i]->other)
            fcs_sbuf_adds(b, "null");
        else
            fcs_esc_json(b, sc[i]->name, sc[i]->len);
        if (sc[i]->other)
            fcs_sbuf_adds(b, ",\"other\":true");
        fcs_sbuf_printf(b, ",\"requests\":%" PRIu64 ",\"incomplete\":%" PRIu64 ",\"4xx\":%" PRIu64
                           ",\"5xx\":%" PRIu64,
                        sc[i]->count, sc[i]->incomplete, sc[i]->s4xx, sc[i]->s5xx);
        j_lat(c, "latency_us", &sc[i]->latency, false);
        fcs_sbuf_addc(b, '}');
    }
    free(sc);
    fcs_sbuf_addc(b, ']');
}

/* One anomaly_groups[] entry: the id's count, its first frames and files,
 * its first detail. */
static void json_anomaly_group(out_ctx *c, const anom_stat *an, fsd_anomaly_id id)
{
    sbuf *b = &c->line;
    fcs_sbuf_printf(b, "\"id\":\"%s\",\"severity\":\"%s\",\"count\":%" PRIu64 ",\"first_frames\":[",
                    fsd_anomaly_name(id), fsd_severity_name(an->max_sev), an->count);
    for (size_t k = 0; k < an->nframes; k++)
        fcs_sbuf_printf(b, "%s%" PRIu64, k ? "," : "", lframe(c, an->frames[k]));
    fcs_sbuf_adds(b, "],\"first_files\":[");
    for (size_t k = 0; k < an->nframes; k++) {
        if (k)
            fcs_sbuf_addc(b, ',');
        j_cstr_(b, where(c, an->frames[k], NULL));
    }
    fcs_sbuf_adds(b, "],\"first_detail\":");
    fcs_esc_json(b, an->detail, strlen(an->detail));
    fcs_sbuf_adds(b, ",\"message\":");
    const char *msg = fsd_anomaly_summary(id);
    fcs_esc_json(b, msg, strlen(msg));
    fcs_sbuf_addc(b, '}');
}

/* "anomalies" (a count per id), anomaly_groups[], the severities. */
static void json_anomalies(out_ctx *c, const stats *st)
{
    sbuf *b = &c->line;
    j_key(b, "anomalies");
    fcs_sbuf_addc(b, '{');
    bool first = true;
    for (unsigned id = 0; id < FSD_A_COUNT; id++) {
        if (!st->anom[id].count)
            continue;
        fcs_sbuf_printf(b, "%s\"%s\":%" PRIu64, first ? "" : ",", fsd_anomaly_name((fsd_anomaly_id)id),
                        st->anom[id].count);
        first = false;
    }
    fcs_sbuf_addc(b, '}');
    j_key(b, "anomaly_groups");
    fcs_sbuf_addc(b, '[');
    first = true;
    for (unsigned id = 0; id < FSD_A_COUNT; id++) {
        const anom_stat *an = &st->anom[id];
        if (!an->count)
            continue;
        fcs_sbuf_adds(b, first ? "{" : ",{");
        first = false;
        json_anomaly_group(c, an, (fsd_anomaly_id)id);
    }
    fcs_sbuf_addc(b, ']');
    fcs_sbuf_printf(b, ",\"anomaly_severities\":{\"error\":%" PRIu64 ",\"warning\":%" PRIu64
                       ",\"note\":%" PRIu64 "}",
                    st->anomalies_by_sev[FSD_SEV_ERROR], st->anomalies_by_sev[FSD_SEV_WARNING],
                    st->anomalies_by_sev[FSD_SEV_NOTE]);
    j_cstr(b, "max_severity", st->max_sev ? fsd_severity_name(st->max_sev) : NULL);
}

/* "backend": handshake evidence per server. */
static void json_backend(out_ctx *c, const stats *st)
{
    sbuf *b = &c->line;
    fcs_sbuf_printf(b, ",\"backend\":{\"connection_refused\":%" PRIu64 ",\"closed_before_request\":%"
                       PRIu64 ",\"connect_retried\":%" PRIu64 ",\"unlisted\":%" PRIu64 ",\"servers\":[",
                    st->backend[0], st->backend[1], st->backend[2], st->backend_unlisted);
    for (size_t i = 0; i < st->nservers; i++)
        fcs_sbuf_printf(b, "%s{\"server\":\"%s\",\"connection_refused\":%" PRIu64
                           ",\"closed_before_request\":%" PRIu64 ",\"connect_retried\":%" PRIu64 "}",
                        i ? "," : "", st->servers[i].server, st->servers[i].n[0], st->servers[i].n[1],
                        st->servers[i].n[2]);
    fcs_sbuf_adds(b, "]}");
}

void json_summary(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    fcs_sbuf_adds(b, "{\"type\":\"summary\"");
    j_host_name(c);
    j_cstr(b, "version", FSD_VERSION_STRING);
    json_files(c, s);
    json_capture(c, s);
    json_requests(c, s->st);
    json_latencies(c, s->st);
    json_scripts(c, s->st);
    json_anomalies(c, s->st);
    json_backend(c, s->st);
    if (s->have_drops)
        fcs_sbuf_printf(b, ",\"pcap_stats\":{\"received\":%" PRIu64 ",\"dropped\":%" PRIu64
                           ",\"ifdropped\":%" PRIu64 "}",
                        s->received, s->dropped, s->ifdropped);
    if (s->device)
        j_cstr(b, "stopped_by", s->stop_reason);
    j_u64(b, "out_of_order_emitted", s->c.emitted_late);
    j_cstr(b, "error", s->fatal);
    fcs_sbuf_printf(b, ",\"exit_status\":%d}\n", s->exit_status);
}
