/* fastcgi-stats.c — `-z fastcgi,srt` (service response time) and `-z fastcgi,tree` for the fastcgi plugin.
 *
 * Normative reference: Wireshark doc/README.stats_tree and epan/srt_table.h
 * (4.0); what is counted comes from the decoder's transactions (fsd.h).
 */
#include <wireshark.h>

#include <epan/packet.h>
#include <epan/srt_table.h>
#include <epan/stats_tree.h>
#include <epan/tap.h>

#include <string.h>

#include <fsd/fsd.h>

#include "compat.h"
#include "fastcgi-int.h"

/* ---- service response time: by request method and by script ---------- */

static const char *const srt_methods[] = {
    "GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "other"
};
#define SRT_ROWS ((int)G_N_ELEMENTS(srt_methods))

/* Rows of the by-script table: one per script, then one for the rest (a
 * capture of scanners asking for thousands of paths stays readable). */
#define SRT_MAX_SCRIPTS 500
#define SRT_OTHER_SCRIPTS "(other scripts)"

static void
fastcgi_srt_init(struct register_srt *srt _U_, GArray *srt_array)
{
    srt_stat_table *t;
    int i;
    t = init_srt_table("FastCGI requests by method (BEGIN_REQUEST to END_REQUEST)", "By method", srt_array,
                       SRT_ROWS, "Method", NULL, NULL);
    for (i = 0; i < SRT_ROWS; i++)
        init_srt_table_row(t, i, srt_methods[i]);
    /* rows are added as scripts appear (init_srt_table_row grows the table) */
    init_srt_table("FastCGI requests by script (BEGIN_REQUEST to END_REQUEST)", "By script", srt_array,
                   0, "Script", NULL, NULL);
}

static int
srt_method_row(const char *method)
{
    int k;
    if (method)
        for (k = 0; k < SRT_ROWS - 1; k++)
            if (strcmp(method, srt_methods[k]) == 0)
                return k;
    return SRT_ROWS - 1;
}

/* The by-script table's row of a script, added when new. */
static int
srt_script_row(srt_stat_table *t, const char *script)
{
    int k;
    if (!script || !script[0])
        script = "(none)";
    for (k = 0; k < t->num_procs; k++)
        if (strcmp(t->procedures[k].procedure, script) == 0)
            return k;
    if (t->num_procs >= SRT_MAX_SCRIPTS) {
        for (k = 0; k < t->num_procs; k++)
            if (strcmp(t->procedures[k].procedure, SRT_OTHER_SCRIPTS) == 0)
                return k;
        script = SRT_OTHER_SCRIPTS;
    }
    init_srt_table_row(t, t->num_procs, script);
    return t->num_procs - 1;
}

/* The frame's tap records (see fastcgi_tap_frame). */
static const fastcgi_tap_info *
frame_rec(const void *data, guint k)
{
    const fastcgi_tap_frame *tf = (const fastcgi_tap_frame *)data;
    if (!tf || !tf->recs || k >= wmem_array_get_count(tf->recs))
        return NULL;
    return *(const fastcgi_tap_info *const *)wmem_array_index(tf->recs, k);
}

/* One tap record's ended requests into the table; TRUE if any. */
static gboolean
srt_rec(srt_stat_table *by_method, srt_stat_table *by_script, packet_info *pinfo, const fastcgi_tap_info *ti)
{
    gboolean any = FALSE;
    unsigned i;
    for (i = 0; i < ti->nended; i++) {
        const fastcgi_tap_req *q = &ti->ended[i];
        nstime_t req_time;
        if (!q->has_latency)
            continue;
        /* The decoder's latency, not this frame's time: a request's end can
         * be reported a record after its END_REQUEST. */
        nstime_delta(&req_time, &pinfo->abs_ts, &q->latency);
        add_srt_table_data(by_method, srt_method_row(q->method), &req_time, pinfo);
        add_srt_table_data(by_script, srt_script_row(by_script, q->script), &req_time, pinfo);
        any = TRUE;
    }
    return any;
}

static tap_packet_status
fastcgi_srt_packet(FASTCGI_TAP_ARGS)
{
    srt_data_t *sd = (srt_data_t *)tapdata;
    srt_stat_table *by_method = g_array_index(sd->srt_array, srt_stat_table *, 0);
    srt_stat_table *by_script = g_array_index(sd->srt_array, srt_stat_table *, 1);
    const fastcgi_tap_info *ti;
    gboolean any = FALSE;
    guint k;
    (void)edt;
    (void)flags;
    for (k = 0; (ti = frame_rec(data, k)) != NULL; k++)
        any |= srt_rec(by_method, by_script, pinfo, ti);
    return any ? TAP_PACKET_REDRAW : TAP_PACKET_DONT_REDRAW;
}

/* ---- stats tree: requests by status, by script, anomalies ------------- */

static int st_requests = -1;
static int st_by_status = -1;
static int st_by_script = -1;
static int st_by_end = -1;
static int st_anomalies = -1;
static int st_time_by_script = -1;
static int st_time_by_status = -1;

#define ST_TIME_BY_SCRIPT "Response time by script (ms)"
#define ST_TIME_BY_STATUS "Response time by HTTP status (ms)"

static void
fastcgi_tree_init(stats_tree *st)
{
    st_requests = stats_tree_create_node(st, "FastCGI requests", 0, STAT_DT_INT, TRUE);
    st_by_status = stats_tree_create_node(st, "Requests by HTTP status", st_requests, STAT_DT_INT, TRUE);
    st_by_script = stats_tree_create_node(st, "Requests by script", st_requests, STAT_DT_INT, TRUE);
    st_by_end = stats_tree_create_node(st, "Requests by end", st_requests, STAT_DT_INT, TRUE);
    st_anomalies = stats_tree_create_node(st, "Anomalies", 0, STAT_DT_INT, TRUE);
    /* Count, Average, Min Val and Max Val of each child: the response
     * times (BEGIN_REQUEST to END_REQUEST) of the requests that have one. */
    st_time_by_script = stats_tree_create_node(st, ST_TIME_BY_SCRIPT, 0, STAT_DT_FLOAT, TRUE);
    st_time_by_status = stats_tree_create_node(st, ST_TIME_BY_STATUS, 0, STAT_DT_FLOAT, TRUE);
}

/* One tap record into the tree; TRUE if it counted anything. */
static gboolean
tree_rec(stats_tree *st, const fastcgi_tap_info *ti)
{
    gboolean any = FALSE;
    unsigned i;
    for (i = 0; i < ti->nended; i++) {
        const fastcgi_tap_req *q = &ti->ended[i];
        char buf[32];
        tick_stat_node(st, "FastCGI requests", 0, TRUE);
        if (q->status)
            g_snprintf(buf, sizeof buf, "%d", q->status);
        else
            g_strlcpy(buf, "no response", sizeof buf);
        tick_stat_node(st, "Requests by HTTP status", st_requests, TRUE);
        tick_stat_node(st, buf, st_by_status, FALSE);
        tick_stat_node(st, "Requests by script", st_requests, TRUE);
        tick_stat_node(st, q->script && q->script[0] ? q->script : "(none)", st_by_script, FALSE);
        tick_stat_node(st, "Requests by end", st_requests, TRUE);
        tick_stat_node(st, q->end_reason ? q->end_reason : "unknown", st_by_end, FALSE);
        if (q->has_latency) {
            gfloat ms = (gfloat)(nstime_to_sec(&q->latency) * 1000.0);
            avg_stat_node_add_value_float(st, ST_TIME_BY_SCRIPT, 0, TRUE, ms);
            avg_stat_node_add_value_float(st, q->script && q->script[0] ? q->script : "(none)",
                                          st_time_by_script, FALSE, ms);
            avg_stat_node_add_value_float(st, ST_TIME_BY_STATUS, 0, TRUE, ms);
            avg_stat_node_add_value_float(st, buf, st_time_by_status, FALSE, ms);
        }
        any = TRUE;
    }
    for (i = 0; i < ti->nanomalies; i++) {
        const char *name = fsd_anomaly_name((fsd_anomaly_id)ti->anomalies[i]);
        tick_stat_node(st, "Anomalies", 0, TRUE);
        tick_stat_node(st, name ? name : "unknown", st_anomalies, FALSE);
        any = TRUE;
    }
    return any;
}

static tap_packet_status
fastcgi_tree_packet(stats_tree *st, packet_info *pinfo _U_, epan_dissect_t *edt _U_,
                    const void *data, tap_flags_t flags _U_)
{
    const fastcgi_tap_info *ti;
    gboolean any = FALSE;
    guint k;
    for (k = 0; (ti = frame_rec(data, k)) != NULL; k++)
        any |= tree_rec(st, ti);
    return any ? TAP_PACKET_REDRAW : TAP_PACKET_DONT_REDRAW;
}

void
fastcgi_register_stats(int proto)
{
    register_srt_table(proto, FASTCGI_TAP_NAME, 2, fastcgi_srt_packet, fastcgi_srt_init, NULL);
    stats_tree_register_plugin(FASTCGI_TAP_NAME, FASTCGI_TAP_NAME, "FastCGI/Requests and anomalies",
                               0, fastcgi_tree_packet, fastcgi_tree_init, NULL);
}
