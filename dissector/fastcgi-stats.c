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

/* ---- service response time: one row per request method ---------------- */

static const char *const srt_methods[] = {
    "GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "other"
};
#define SRT_ROWS ((int)G_N_ELEMENTS(srt_methods))

static void
fastcgi_srt_init(struct register_srt *srt _U_, GArray *srt_array)
{
    srt_stat_table *t;
    int i;
    t = init_srt_table("FastCGI requests (BEGIN_REQUEST to END_REQUEST)", NULL, srt_array,
                       SRT_ROWS, "Method", NULL, NULL);
    for (i = 0; i < SRT_ROWS; i++)
        init_srt_table_row(t, i, srt_methods[i]);
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
srt_rec(srt_stat_table *t, packet_info *pinfo, const fastcgi_tap_info *ti)
{
    gboolean any = FALSE;
    unsigned i;
    for (i = 0; i < ti->nended; i++) {
        const fastcgi_tap_req *q = &ti->ended[i];
        int row = SRT_ROWS - 1, k;
        nstime_t req_time;
        if (!q->has_latency)
            continue;
        if (q->method)
            for (k = 0; k < SRT_ROWS - 1; k++)
                if (strcmp(q->method, srt_methods[k]) == 0)
                    row = k;
        /* The decoder's latency, not this frame's time: a request's end can
         * be reported a record after its END_REQUEST. */
        nstime_delta(&req_time, &pinfo->abs_ts, &q->latency);
        add_srt_table_data(t, row, &req_time, pinfo);
        any = TRUE;
    }
    return any;
}

static tap_packet_status
fastcgi_srt_packet(FCGI_TAP_ARGS)
{
    srt_data_t *sd = (srt_data_t *)tapdata;
    srt_stat_table *t = g_array_index(sd->srt_array, srt_stat_table *, 0);
    const fastcgi_tap_info *ti;
    gboolean any = FALSE;
    guint k;
    (void)edt;
    (void)flags;
    for (k = 0; (ti = frame_rec(data, k)) != NULL; k++)
        any |= srt_rec(t, pinfo, ti);
    return any ? TAP_PACKET_REDRAW : TAP_PACKET_DONT_REDRAW;
}

/* ---- stats tree: requests by status, by script, anomalies ------------- */

static int st_requests = -1;
static int st_by_status = -1;
static int st_by_script = -1;
static int st_by_end = -1;
static int st_anomalies = -1;

static void
fastcgi_tree_init(stats_tree *st)
{
    st_requests = stats_tree_create_node(st, "FastCGI requests", 0, STAT_DT_INT, TRUE);
    st_by_status = stats_tree_create_node(st, "Requests by HTTP status", st_requests, STAT_DT_INT, TRUE);
    st_by_script = stats_tree_create_node(st, "Requests by script", st_requests, STAT_DT_INT, TRUE);
    st_by_end = stats_tree_create_node(st, "Requests by end", st_requests, STAT_DT_INT, TRUE);
    st_anomalies = stats_tree_create_node(st, "Anomalies", 0, STAT_DT_INT, TRUE);
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
    register_srt_table(proto, FASTCGI_TAP_NAME, 1, fastcgi_srt_packet, fastcgi_srt_init, NULL);
    stats_tree_register_plugin(FASTCGI_TAP_NAME, FASTCGI_TAP_NAME, "FastCGI/Requests and anomalies",
                               0, fastcgi_tree_packet, fastcgi_tree_init, NULL);
}
