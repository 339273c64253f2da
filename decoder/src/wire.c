/* wire.c — stateless FastCGI record framing: header/body unpacking, plausibility, name-value pairs, names.
 *
 * Normative reference: FastCGI Specification 1.0 (Open Market, 1996) §3.3
 * (records), §3.4 (name-value pairs), §5 (bodies of the record types).
 *
 * A record on the wire (§3.3):
 *
 *   0        1        2        3        4        5        6        7
 *  +--------+--------+--------+--------+--------+--------+--------+--------+
 *  |version |  type  | requestId (BE16)| contentLength(BE16)| padLen |reserved|
 *  +--------+--------+--------+--------+--------+--------+--------+--------+
 *  | contentData[contentLength] ...  | paddingData[paddingLength] ...      |
 *
 * A name-value pair (§3.4): nameLength, valueLength, nameData, valueData.
 * Each length is one byte 0..127 (high bit clear) or four bytes
 * ((B3 & 0x7f) << 24 | B2 << 16 | B1 << 8 | B0) with the high bit of B3 set.
 *
 *   +--------+--------+------------+-------------+
 *   | 0nnnnnnn (1 B)  | or 1nnnnnnn nnnnnnnn nnnnnnnn nnnnnnnn (4 B) |
 *   +--------+--------+------------+-------------+
 */
#include "fsd_internal.h"

#include <string.h>

void fsd_header_unpack(fsd_header *h, const uint8_t b[FSD_HEADER_LEN])
{
    h->version = b[0];
    h->type = b[1];
    h->request_id = (uint16_t)((b[2] << 8) | b[3]);
    h->content_length = (uint16_t)((b[4] << 8) | b[5]);
    h->padding_length = b[6];
    h->reserved = b[7];
}

uint32_t fsd_header_record_len(const fsd_header *h)
{
    /* 8 + 65535 + 255 fits comfortably in 32 bits; computed wide on purpose. */
    return (uint32_t)FSD_HEADER_LEN + (uint32_t)h->content_length + (uint32_t)h->padding_length;
}

bool fsd_header_plausible(const fsd_header *h)
{
    if (h == NULL || h->version != 1 || !fsd_type_is_known(h->type))
        return false;
    if (fsd_type_is_management(h->type)) {
        if (h->request_id != 0)
            return false;
    } else if (h->request_id == 0) {
        return false;
    }
    switch (h->type) {
    case FSD_BEGIN_REQUEST:
    case FSD_END_REQUEST:
    case FSD_UNKNOWN_TYPE:
        return h->content_length == 8;
    case FSD_ABORT_REQUEST:
        return h->content_length == 0;
    default:
        return true;
    }
}

ptrdiff_t fsd_find_resync(const uint8_t *buf, size_t len, bool at_end, size_t *undecided)
{
    size_t p = 0;
    if (buf == NULL)
        len = 0;
    while (p < len) {
        fsd_header h, n;
        uint64_t rl;
        if (len - p < FSD_HEADER_LEN) {
            if (!at_end)
                break; /* more bytes could make a header here */
            p++;
            continue;
        }
        fsd_header_unpack(&h, buf + p);
        if (!fsd_header_plausible(&h)) {
            p++;
            continue;
        }
        rl = fsd_header_record_len(&h);
        if (p + rl + FSD_HEADER_LEN <= len) {
            fsd_header_unpack(&n, buf + p + rl);
            if (fsd_header_plausible(&n))
                return (ptrdiff_t)p;
            p++;
            continue;
        }
        if (at_end && p + rl == len)
            return (ptrdiff_t)p;
        if (at_end) {
            p++;
            continue;
        }
        break; /* the confirming bytes have not arrived yet */
    }
    if (undecided)
        *undecided = p;
    return -1;
}

int fsd_looks_like_fastcgi(const uint8_t *buf, size_t len, fsd_dir dir)
{
    size_t pos = 0;
    int seen = 0;
    if (buf == NULL)
        return len ? 0 : -1;
    /* A FastCGI connection starts with version 1: refuse early. */
    if (len >= 1 && buf[0] != 1)
        return 0;
    while (pos + FSD_HEADER_LEN <= len) {
        fsd_header h;
        fsd_header_unpack(&h, buf + pos);
        if (!fsd_header_plausible(&h))
            return 0;
        if ((dir == FSD_DIR_CLIENT || dir == FSD_DIR_SERVER) && fsd_type_sender(h.type) != (int)dir)
            return 0;
        seen++;
        /* the sum can not roll over: at most 8 + 65535 + 255 per step */
        pos += fsd_header_record_len(&h);
    }
    if (seen > 0)
        return 1;
    /* Fewer than 8 bytes: say no as soon as a byte rules it out. */
    if (len >= 2 && !fsd_type_is_known(buf[1]))
        return 0;
    return -1;
}

int fsd_recognise(const uint8_t *buf, size_t len, unsigned flags, fsd_dir *sender, size_t *at)
{
    fsd_dir who = FSD_DIR_CLIENT;
    size_t where = 0;
    int r;
    if (buf == NULL) /* no bytes (and no pointer arithmetic on NULL) */
        return (flags & FSD_RECOGNISE_AT_END) ? 0 : -1;
    if (flags & FSD_RECOGNISE_FROM_START) {
        int c = fsd_looks_like_fastcgi(buf, len, FSD_DIR_CLIENT);
        int s = c == 1 ? 0 : fsd_looks_like_fastcgi(buf, len, FSD_DIR_SERVER);
        if (c == 1) {
            r = 1;
        } else if (s == 1) {
            r = 1;
            who = FSD_DIR_SERVER;
        } else if (c == 0 && s == 0) {
            r = 0;
        } else {
            r = (flags & FSD_RECOGNISE_AT_END) ? 0 : -1;
        }
    } else {
        bool at_end = (flags & FSD_RECOGNISE_AT_END) != 0;
        size_t base = 0;
        r = -1;
        for (;;) {
            size_t undecided = len - base;
            ptrdiff_t p = fsd_find_resync(buf + base, len - base, at_end, &undecided);
            if (p < 0) {
                /* nothing confirmed: no when no offset within a record's length can be any more */
                if (at_end || base + undecided > FSD_MAX_RECORD_LEN)
                    r = 0;
                break;
            }
            size_t q = base + (size_t)p;
            if (q > FSD_MAX_RECORD_LEN) {
                r = 0;
                break;
            }
            fsd_header h, n;
            fsd_header_unpack(&h, buf + q);
            size_t nx = q + fsd_header_record_len(&h);
            int s1 = fsd_type_sender(h.type);
            bool same = true;
            if (nx + FSD_HEADER_LEN <= len) {
                fsd_header_unpack(&n, buf + nx);
                same = fsd_type_sender(n.type) == s1;
            }
            if (same) {
                r = 1;
                who = s1 == (int)FSD_DIR_SERVER ? FSD_DIR_SERVER : FSD_DIR_CLIENT;
                where = q;
                break;
            }
            base = q + 1;
        }
    }
    if (r == 1) {
        if (sender)
            *sender = who;
        if (at)
            *at = where;
    }
    return r;
}

bool fsd_begin_body_unpack(fsd_begin_body *out, const uint8_t *b, size_t len)
{
    memset(out, 0, sizeof *out);
    if (b == NULL || len < 8)
        return false;
    out->role = (uint16_t)((b[0] << 8) | b[1]);
    out->flags = b[2];
    memcpy(out->reserved, b + 3, 5);
    return true;
}

bool fsd_end_body_unpack(fsd_end_body *out, const uint8_t *b, size_t len)
{
    memset(out, 0, sizeof *out);
    if (b == NULL || len < 8)
        return false;
    out->app_status = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
    out->protocol_status = b[4];
    memcpy(out->reserved, b + 5, 3);
    return true;
}

bool fsd_unknown_type_body_unpack(fsd_unknown_type_body *out, const uint8_t *b, size_t len)
{
    memset(out, 0, sizeof *out);
    if (b == NULL || len < 8)
        return false;
    out->type = b[0];
    memcpy(out->reserved, b + 1, 7);
    return true;
}

/* Read one §3.4 length at buf[*pos]; 1 ok, 0 not enough bytes. */
static int read_nv_len(const uint8_t *buf, size_t len, size_t *pos, uint32_t *out)
{
    if (*pos >= len)
        return 0;
    if ((buf[*pos] & 0x80) == 0) {
        *out = buf[*pos];
        *pos += 1;
        return 1;
    }
    if (len - *pos < 4)
        return 0;
    *out = ((uint32_t)(buf[*pos] & 0x7f) << 24) | ((uint32_t)buf[*pos + 1] << 16) |
           ((uint32_t)buf[*pos + 2] << 8) | buf[*pos + 3];
    *pos += 4;
    return 1;
}

int fsd_nv_next(const uint8_t *buf, size_t len, size_t *pos, fsd_nv *out)
{
    size_t p;
    if (buf == NULL || pos == NULL || out == NULL)
        return buf == NULL && pos != NULL && *pos >= len ? 0 : -1;
    memset(out, 0, sizeof *out);
    p = *pos;
    out->offset = p;
    if (p >= len)
        return 0;
    if (!read_nv_len(buf, len, &p, &out->name_len))
        return -1;
    out->name_len_bytes = (uint8_t)(p - out->offset);
    if (!read_nv_len(buf, len, &p, &out->value_len))
        return -1;
    out->name_offset = p;
    /* lengths are < 2^31 each; compare against what is left, never add to p first */
    if ((uint64_t)out->name_len > (uint64_t)(len - p))
        return -1;
    out->value_offset = p + out->name_len;
    if ((uint64_t)out->value_len > (uint64_t)(len - out->value_offset))
        return -1;
    out->total_len = out->value_offset + out->value_len - out->offset;
    *pos = out->value_offset + out->value_len;
    return 1;
}


static const char *const type_names[FSD_MAX_KNOWN_TYPE + 1] = {
    "UNKNOWN", "BEGIN_REQUEST", "ABORT_REQUEST", "END_REQUEST", "PARAMS", "STDIN",
    "STDOUT", "STDERR", "DATA", "GET_VALUES", "GET_VALUES_RESULT", "UNKNOWN_TYPE"
};

const char *fsd_type_name(unsigned type)
{
    return fsd_type_is_known(type) ? type_names[type] : "UNKNOWN";
}

const char *fsd_role_name(unsigned role)
{
    switch (role) {
    case FSD_RESPONDER: return "RESPONDER";
    case FSD_AUTHORIZER: return "AUTHORIZER";
    case FSD_FILTER: return "FILTER";
    default: return "UNKNOWN";
    }
}

const char *fsd_protocol_status_name(unsigned st)
{
    switch (st) {
    case FSD_REQUEST_COMPLETE: return "REQUEST_COMPLETE";
    case FSD_CANT_MPX_CONN: return "CANT_MPX_CONN";
    case FSD_OVERLOADED: return "OVERLOADED";
    case FSD_UNKNOWN_ROLE: return "UNKNOWN_ROLE";
    default: return "UNKNOWN";
    }
}

const char *fsd_dir_name(fsd_dir dir)
{
    switch (dir) {
    case FSD_DIR_CLIENT: return "client";
    case FSD_DIR_SERVER: return "server";
    default: return "UNKNOWN";
    }
}

const char *fsd_end_reason_name(fsd_end_reason r)
{
    switch (r) {
    case FSD_END_COMPLETE: return "complete";
    case FSD_END_CLOSED: return "closed";
    case FSD_END_RESET: return "reset";
    case FSD_END_CAPTURE: return "capture_end";
    case FSD_END_DESYNC: return "desync";
    case FSD_END_GAP: return "gap";
    default: return "UNKNOWN";
    }
}

const char *fsd_status_source_name(fsd_status_source s)
{
    switch (s) {
    case FSD_STATUS_NONE: return "none";
    case FSD_STATUS_HEADER: return "header";
    case FSD_STATUS_LOCATION: return "location";
    case FSD_STATUS_DEFAULT: return "default";
    default: return "UNKNOWN";
    }
}

const char *fsd_user_outcome_name(fsd_user_outcome o)
{
    switch (o) {
    case FSD_USER_AS_ANSWERED: return "as_answered";
    case FSD_USER_UNKNOWN: return "unknown";
    case FSD_USER_REJECTED_HEADER: return "rejected_header";
    case FSD_USER_GAVE_UP_TIMEOUT: return "gave_up_timeout";
    case FSD_USER_CLIENT_GONE: return "client_gone";
    case FSD_USER_BACKEND_FAILED: return "backend_failed";
    default: return "UNKNOWN";
    }
}
