/* pcapw.c — fcgiscope -w FILE: the live capture written as a classic pcap file.
 *
 * Normative reference: see pcapw.h.
 */
#define _POSIX_C_SOURCE 200809L

#include "pcapw.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pcapw {
    FILE *f;
    char *path;
    bool failed;
    int err;
    uint32_t snaplen;
};

pcapw *fcs_pcapw_open(const char *path, int dlt, int snaplen, char *err, size_t errlen)
{
    pcapw *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->f = fopen(path, "wb");
    if (!w->f) {
        snprintf(err, errlen, "-w %s: cannot write: %s", path, strerror(errno));
        free(w->path);
        free(w);
        return NULL;
    }
    w->snaplen = snaplen > 0 ? (uint32_t)snaplen : 262144;
    uint32_t gh[6] = { 0xa1b23c4du, 0x00040002u, 0, 0, w->snaplen, (uint32_t)dlt };
    if (fwrite(gh, sizeof gh, 1, w->f) != 1) {
        w->failed = true;
        w->err = errno;
    }
    return w;
}

bool fcs_pcapw_packet(pcapw *w, const fcs_packet *pkt)
{
    if (w->failed)
        return false;
    int64_t ts = pkt->ts_ns < 0 ? 0 : pkt->ts_ns;
    uint32_t cap = pkt->caplen > w->snaplen ? w->snaplen : pkt->caplen;
    uint32_t rh[4] = { (uint32_t)(ts / 1000000000), (uint32_t)(ts % 1000000000), cap,
                       pkt->len < cap ? cap : pkt->len };
    if (fwrite(rh, sizeof rh, 1, w->f) != 1 || (cap && fwrite(pkt->data, cap, 1, w->f) != 1)) {
        w->failed = true;
        w->err = errno;
        return false;
    }
    return true;
}

void fcs_pcapw_flush(pcapw *w)
{
    if (!w->failed && fflush(w->f) != 0) {
        w->failed = true;
        w->err = errno;
    }
}

int fcs_pcapw_close(pcapw *w, char *err, size_t errlen)
{
    if (!w)
        return 0;
    int rc = 0;
    if (fclose(w->f) != 0 && !w->failed) {
        w->failed = true;
        w->err = errno;
    }
    if (w->failed) {
        snprintf(err, errlen, "-w %s: write error: %s", w->path,
                 w->err ? strerror(w->err) : "unknown error");
        rc = -1;
    }
    free(w->path);
    free(w);
    return rc;
}
