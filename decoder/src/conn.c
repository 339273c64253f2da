/* conn.c — per-connection, per-direction push parser (temporary skeleton). */
#include "fsd_internal.h"
#include <stdlib.h>
#include <string.h>

struct fsd_conn {
    fsd_conn_config cfg;
    fsd_conn_stats st;
    bool finished;
};

void fsd_limits_default(fsd_limits *l)
{
    l->max_params_bytes = 262144;
    l->max_pair_bytes = 65536;
    l->max_cgi_header_bytes = 16384;
    l->max_active_requests = 1024;
    l->max_request_anomalies = 32;
}

fsd_conn *fsd_conn_new(const fsd_conn_config *cfg)
{
    fsd_conn *c = calloc(1, sizeof *c);
    if (c && cfg)
        c->cfg = *cfg;
    return c;
}
void fsd_conn_free(fsd_conn *c) { free(c); }
int fsd_conn_feed(fsd_conn *c, fsd_dir dir, const uint8_t *data, size_t len, int64_t ts_ns, uint64_t tag)
{
    (void)data; (void)ts_ns; (void)tag;
    if (!c || (dir != FSD_DIR_CLIENT && dir != FSD_DIR_SERVER)) return FSD_E_INVAL;
    c->st.dir[dir].bytes += len;
    return FSD_OK;
}
int fsd_conn_feed_record(fsd_conn *c, fsd_dir dir, const uint8_t *rec, size_t len, int64_t ts_ns, uint64_t tag)
{
    return fsd_conn_feed(c, dir, rec, len, ts_ns, tag);
}
int fsd_conn_gap(fsd_conn *c, fsd_dir dir, uint64_t nbytes, int64_t ts_ns, uint64_t tag)
{
    (void)ts_ns; (void)tag;
    if (!c || (dir != FSD_DIR_CLIENT && dir != FSD_DIR_SERVER)) return FSD_E_INVAL;
    c->st.dir[dir].gap_bytes += nbytes;
    return FSD_OK;
}
int fsd_conn_close(fsd_conn *c, fsd_dir dir, fsd_close_kind kind, int64_t ts_ns, uint64_t tag)
{
    (void)dir; (void)kind; (void)ts_ns; (void)tag;
    return c ? FSD_OK : FSD_E_INVAL;
}
int fsd_conn_finish(fsd_conn *c, int64_t ts_ns, uint64_t tag)
{
    (void)ts_ns; (void)tag;
    if (!c) return FSD_E_INVAL;
    c->finished = true;
    return FSD_OK;
}
void fsd_conn_get_stats(const fsd_conn *c, fsd_conn_stats *out)
{
    if (c && out) *out = c->st;
}
