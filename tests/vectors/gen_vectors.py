#!/usr/bin/env python3
"""gen_vectors.py — writes the INPUT part of tests/vectors/*.vec (FastCGI exchanges in the style of real peers and edge cases).

Normative reference: FastCGI Specification 1.0 §3.3-§6; docs/PROTOCOL.md
(how real peers frame records); tests/vectors/README.md (file format).

The expected logs are NOT generated here: `fsd_test_vectors --update FILE` (build-*/tests/decoder/) writes
them from the decoder, and each one is reviewed by hand before it is committed
(the expected log is the test). Running this script keeps existing expected
logs when the input is unchanged and drops them otherwise.

    python3 gen_vectors.py [DIR]      # default: the directory of this script
"""
import os
import sys

BEGIN, ABORT, END, PARAMS, STDIN, STDOUT, STDERR, DATA, GETV, GETVR, UTYPE = range(1, 12)
NAMES = {1: "BEGIN_REQUEST", 2: "ABORT_REQUEST", 3: "END_REQUEST", 4: "PARAMS", 5: "STDIN",
         6: "STDOUT", 7: "STDERR", 8: "DATA", 9: "GET_VALUES", 10: "GET_VALUES_RESULT",
         11: "UNKNOWN_TYPE"}


def q(b):
    """bytes -> a quoted string token of the .vec format"""
    out = '"'
    for ch in b:
        c = chr(ch)
        if c == '"' or c == '\\':
            out += '\\' + c
        elif c == '\r':
            out += '\\r'
        elif c == '\n':
            out += '\\n'
        elif c == '\t':
            out += '\\t'
        elif ch < 0x20 or ch >= 0x7f:
            out += '\\x%02x' % ch
        else:
            out += c
    return out + '"'


def hx(b):
    return ' '.join('%02x' % x for x in b)


class Item:
    """bytes plus how they are written in the file"""
    def __init__(self, data, text):
        self.data = data
        self.text = text


def text(s):
    b = s.encode() if isinstance(s, str) else s
    return Item(b, q(b)) if b else Item(b, '')


def raw(b, comment=None):
    lines = [hx(b[i:i + 16]) for i in range(0, len(b), 16)] or ['']
    if comment:
        lines[0] += '   # ' + comment
    return Item(b, '\n'.join(lines))


def rep(byte, n):
    return Item(bytes([byte]) * n, '%02x*%d' % (byte, n))


def nvlen(n):
    return bytes([n]) if n < 128 else bytes([0x80 | (n >> 24), (n >> 16) & 255, (n >> 8) & 255, n & 255])


def nv(name, value, nlen=None, vlen=None):
    name = name.encode() if isinstance(name, str) else name
    value = value.encode() if isinstance(value, str) else value
    lens = nvlen(len(name) if nlen is None else nlen) + nvlen(len(value) if vlen is None else vlen)
    t = hx(lens)
    if name:
        t += ' ' + q(name)
    if value:
        t += ' ' + q(value)
    return Item(lens + name + value, t)


def rec(rtype, rid, *content, pad=None, version=1, reserved=0, align=8, cl=None, note=None):
    """one record; pad=None pads to `align` (0: no padding)"""
    body = b''.join(c.data for c in content)
    n = len(body) if cl is None else cl
    if pad is None:
        pad = (-n) % align if align else 0
    h = bytes([version, rtype, rid >> 8, rid & 255, n >> 8 & 255, n & 255, pad, reserved])
    name = NAMES.get(rtype, 'type %d' % rtype)
    lines = ['# %s id=%d cl=%d pl=%d%s' % (name, rid, n, pad, (' (' + note + ')') if note else ''), hx(h)]
    lines += [c.text for c in content if c.text]
    if pad:
        lines.append(hx(bytes(pad)) + '   # padding')
    return Item(h + body + bytes(pad), '\n'.join(lines))


def begin(rid, role=1, flags=0, **kw):
    return rec(BEGIN, rid, raw(bytes([role >> 8, role & 255, flags, 0, 0, 0, 0, 0]),
                               'role=%d flags=%d' % (role, flags)), **kw)


def end(rid, app=0, ps=0, **kw):
    return rec(END, rid, raw(bytes([app >> 24 & 255, app >> 16 & 255, app >> 8 & 255, app & 255, ps, 0, 0, 0]),
                             'appStatus=%d protocolStatus=%d' % (app, ps)), **kw)


def params(rid, pairs, **kw):
    return rec(PARAMS, rid, *[nv(k, v) for k, v in pairs], **kw)


def cut(item, *at):
    """split one item's bytes at the given offsets into raw pieces (for records spanning packets)"""
    pieces, last = [], 0
    for a in list(at) + [len(item.data)]:
        pieces.append(raw(item.data[last:a], 'bytes %d..%d of the item above' % (last, a) if last else None))
        last = a
    first = item.text.split('\n')[0]
    pieces[0] = Item(pieces[0].data, first + ' (cut across packets)\n' + pieces[0].text)
    return pieces


class V:
    def __init__(self, name, desc):
        self.name, self.desc, self.lines, self.opts = name, desc, [], []
        self.allowed = None

    def clean(self, *ids):
        """clean traffic of a real peer: only these anomaly ids may fire (checked by a test)"""
        self.allowed = ids
        return self

    def option(self, o):
        self.opts.append(o)
        return self

    def pkt(self, d, tag, *items):
        self.lines.append('%s %d %d' % (d, tag * 1000000, tag))
        for it in items:
            if isinstance(it, list):
                for x in it:
                    self.lines.append(x.text)
            else:
                self.lines.append(it.text)
        return self

    def c(self, tag, *items):
        return self.pkt('client', tag, *items)

    def s(self, tag, *items):
        return self.pkt('server', tag, *items)

    def fin(self, d, tag):
        self.lines.append('fin %s %d %d' % (d, tag * 1000000, tag))
        return self

    def rst(self, d, tag):
        self.lines.append('rst %s %d %d' % (d, tag * 1000000, tag))
        return self

    def gap(self, d, n, tag):
        self.lines.append('gap %s %d %d %d' % (d, n, tag * 1000000, tag))
        return self

    def finish(self, tag):
        self.lines.append('finish %d %d' % (tag * 1000000, tag))
        return self

    def render(self):
        out = ['# %s — %s' % (self.name, self.desc[0])] + ['# ' + x for x in self.desc[1:]]
        out.append('# (input written by gen_vectors.py; expected log reviewed by hand)')
        if self.allowed is not None:
            out.append('# clean: ' + ' '.join(self.allowed))
        out += ['option ' + o for o in self.opts]
        out += self.lines
        return '\n'.join(out) + '\n'


# ---------------------------------------------------------------------------
# building blocks in the style of real peers

NGINX_PARAMS = [
    ("QUERY_STRING", ""), ("REQUEST_METHOD", "GET"), ("CONTENT_TYPE", ""), ("CONTENT_LENGTH", ""),
    ("SCRIPT_NAME", "/index.php"), ("REQUEST_URI", "/index.php?x=1"), ("DOCUMENT_URI", "/index.php"),
    ("DOCUMENT_ROOT", "/var/www/html"), ("SERVER_PROTOCOL", "HTTP/1.1"), ("REQUEST_SCHEME", "http"),
    ("GATEWAY_INTERFACE", "CGI/1.1"), ("SERVER_SOFTWARE", "nginx/1.22.1"), ("REMOTE_ADDR", "127.0.0.1"),
    ("REMOTE_PORT", "40522"), ("SERVER_ADDR", "127.0.0.1"), ("SERVER_PORT", "8080"),
    ("SERVER_NAME", "localhost"), ("REDIRECT_STATUS", "200"),
    ("SCRIPT_FILENAME", "/var/www/html/index.php"), ("HTTP_HOST", "localhost:8080"),
    ("HTTP_USER_AGENT", "curl/7.88.1"), ("HTTP_ACCEPT", "*/*"),
]


def nginx_params(method="GET", uri="/index.php?x=1", cl="", extra=()):
    over = dict(extra)
    out = []
    for k, v in NGINX_PARAMS:
        if k == "REQUEST_METHOD":
            v = method
        elif k == "REQUEST_URI":
            v = uri
        elif k == "CONTENT_LENGTH":
            v = cl
        out.append((k, over.pop(k, v)))
    return out + list(over.items())


PHP_OUT = b"X-Powered-By: PHP/8.2.7\r\nContent-type: text/html; charset=UTF-8\r\n\r\nhello world\n"


def nginx_request(rid=1, flags=0, method="GET", cl="", extra=(), stdin=b""):
    items = [begin(rid, 1, flags), params(rid, nginx_params(method, cl=cl, extra=extra)), rec(PARAMS, rid)]
    if stdin:
        items.append(rec(STDIN, rid, text(stdin)))
    items.append(rec(STDIN, rid))
    return items


def simple_request(rid=1, flags=0, pairs=None, stdin=b"", align=8, role=1):
    pairs = pairs if pairs is not None else [("REQUEST_METHOD", "GET"), ("SCRIPT_FILENAME", "/srv/a.php"),
                                             ("REQUEST_URI", "/a")]
    items = [begin(rid, role, flags, align=align), params(rid, pairs, align=align), rec(PARAMS, rid, align=align)]
    if stdin:
        items.append(rec(STDIN, rid, text(stdin), align=align))
    items.append(rec(STDIN, rid, align=align))
    return items


def libfcgi_response(rid=1, out=b"Content-Type: text/plain\r\n\r\nok\n"):
    return [rec(STDOUT, rid, text(out)), rec(STDOUT, rid), end(rid)]


VECTORS = []


def vec(name, *desc):
    v = V(name, desc)
    VECTORS.append(v)
    return v


# ---------------------------------------------------------------------------
# clean traffic in the style of each real peer

vec("peer_nginx_phpfpm", "nginx 1.22 -> php-fpm 8.2, GET, no KEEP_CONN.",
    "nginx: id 1, padded to 8, BEGIN+PARAMS+empty PARAMS+empty STDIN in one segment.",
    "php-fpm: STDOUT then END_REQUEST in one write, no empty STDOUT; closes first.",
    "Must fire only end_without_stdout_eos.").clean("end_without_stdout_eos") \
    .c(1, *nginx_request()) \
    .s(2, rec(STDOUT, 1, text(PHP_OUT)), end(1)) \
    .fin("server", 3).fin("client", 4)

vec("peer_nginx_keepconn", "nginx with fastcgi_keep_conn on -> php-fpm: two requests, id 1 reused, KEEP_CONN.",
    "The web server closes the kept-alive connection at the end: fine. Only end_without_stdout_eos (twice).").clean("end_without_stdout_eos") \
    .c(1, *nginx_request(flags=1)) \
    .s(2, rec(STDOUT, 1, text(PHP_OUT)), end(1)) \
    .c(3, *nginx_request(flags=1, method="HEAD")) \
    .s(4, rec(STDOUT, 1, text(b"Content-type: text/html\r\n\r\n")), end(1)) \
    .fin("client", 5).fin("server", 6)

post_body = b"name=value&other=thing"
vec("peer_phpfpm_early_answer", "nginx POST -> php-fpm answering before the empty STDIN arrives in the capture.",
    "The request lingers after END_REQUEST and is delivered when the client's STDIN ends.",
    "Must fire only end_without_stdout_eos; t_request_sent is the packet of the empty STDIN.").clean("end_without_stdout_eos") \
    .c(1, begin(1), params(1, nginx_params("POST", cl=str(len(post_body)),
                                           extra=[("CONTENT_TYPE", "application/x-www-form-urlencoded")])),
       rec(PARAMS, 1), rec(STDIN, 1, text(post_body))) \
    .s(2, rec(STDOUT, 1, text(b"Status: 201 Created\r\nContent-type: text/plain\r\n\r\nstored\n")), end(1)) \
    .c(3, rec(STDIN, 1)) \
    .fin("server", 4).fin("client", 5)

vec("peer_phpfpm_stderr", "php-fpm: stderr joined into one STDERR record before STDOUT, never an empty STDERR or STDOUT.",
    "Must fire stderr_output and end_without_stdout_eos only.").clean("stderr_output", "end_without_stdout_eos") \
    .c(1, *nginx_request()) \
    .s(2, rec(STDERR, 1, text(b"PHP message: PHP Warning:  Undefined variable $x in /var/www/html/index.php on line 3")),
       rec(STDOUT, 1, text(b"Status: 500 Internal Server Error\r\nContent-type: text/html; charset=UTF-8\r\n\r\n")),
       end(1)) \
    .fin("server", 3).fin("client", 4)

vec("peer_phpfpm_get_values", "A management exchange: GET_VALUES answered by php-fpm with only FCGI_MPXS_CONNS=0.").clean() \
    .c(1, rec(GETV, 0, nv("FCGI_MAX_CONNS", ""), nv("FCGI_MAX_REQS", ""), nv("FCGI_MPXS_CONNS", ""), align=0)) \
    .s(2, rec(GETVR, 0, nv("FCGI_MPXS_CONNS", "0"))) \
    .fin("client", 3).fin("server", 4)

H = dict(align=0)
vec("peer_haproxy_go_mpx", "HAProxy 2.6 -> Go net/http/fcgi: GET_VALUES first, Go answers FCGI_MPXS_CONNS=1 plus an extra",
    "empty GET_VALUES_RESULT; HAProxy multiplexes ids 1 and 3 with KEEP_CONN and no padding; Go pads to 8, sends",
    "headers in their own STDOUT record, then the empty STDOUT and END_REQUEST each in its own segment;",
    "HAProxy resets the connection at the end. Must fire only multiplexed (on request 3).").clean("multiplexed") \
    .c(1, rec(GETV, 0, nv("FCGI_MAX_REQS", ""), nv("FCGI_MPXS_CONNS", ""), **H)) \
    .s(2, rec(GETVR, 0, nv("FCGI_MPXS_CONNS", "1"))) \
    .s(3, rec(GETVR, 0)) \
    .c(4, begin(1, 1, 1, **H), params(1, [("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/one"),
                                          ("SCRIPT_FILENAME", "/srv/app"), ("SCRIPT_NAME", "/one"),
                                          ("HTTP_HOST", "app.local")], **H),
       rec(PARAMS, 1, **H), rec(STDIN, 1, **H)) \
    .c(5, begin(3, 1, 1, **H), params(3, [("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/two"),
                                          ("SCRIPT_FILENAME", "/srv/app"), ("CONTENT_LENGTH", "5")], **H),
       rec(PARAMS, 3, **H), rec(STDIN, 3, text("abcde"), **H), rec(STDIN, 3, **H)) \
    .s(6, rec(STDOUT, 3, text(b"Content-Type: text/plain; charset=utf-8\r\n\r\n"))) \
    .s(7, rec(STDOUT, 1, text(b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\n"))) \
    .s(8, rec(STDOUT, 3, text(b"two\n"))) \
    .s(9, rec(STDOUT, 3)) \
    .s(10, end(3)) \
    .s(11, rec(STDOUT, 1, text(b"nope\n"))) \
    .s(12, rec(STDOUT, 1)) \
    .s(13, end(1)) \
    .rst("client", 14)

vec("peer_fcgiwrap_stderr", "nginx -> fcgiwrap (libfcgi): STDERR then an empty STDERR before the last STDOUT,",
    "STDOUT records padded to 8, empty STDOUT then END_REQUEST. Must fire only stderr_output.").clean("stderr_output") \
    .c(1, *nginx_request()) \
    .s(2, rec(STDOUT, 1, text(b"Content-Type: text/plain\n\n"))) \
    .s(3, rec(STDERR, 1, text(b"script.sh: line 4: warning\n")), rec(STDERR, 1)) \
    .s(4, rec(STDOUT, 1, text(b"body line\n")), rec(STDOUT, 1), end(1)) \
    .fin("server", 5).fin("client", 6)

big = b"x" * 20000
vec("peer_apache_post", "Apache mod_proxy_fcgi style: no padding, one record per segment, STDIN in 8192-byte records,",
    "a 20000-byte POST body; the response is split across packets. Must fire only end_without_stdout_eos.").clean("end_without_stdout_eos") \
    .c(1, begin(1, 1, 0, align=0)) \
    .c(2, params(1, [("REQUEST_METHOD", "POST"), ("SCRIPT_FILENAME", "/var/www/up.php"),
                     ("REQUEST_URI", "/up.php"), ("CONTENT_LENGTH", "20000"), ("HTTP_HOST", "h")], align=0)) \
    .c(3, rec(PARAMS, 1, align=0)) \
    .c(4, rec(STDIN, 1, rep(0x78, 8192), align=0)) \
    .c(5, rec(STDIN, 1, rep(0x78, 8192), align=0)) \
    .c(6, rec(STDIN, 1, rep(0x78, 3616), align=0)) \
    .c(7, rec(STDIN, 1, align=0)) \
    .s(8, cut(rec(STDOUT, 1, text(b"Content-type: text/html\r\n\r\n<p>uploaded 20000 bytes</p>\n"), align=0), 20)[0]) \
    .s(9, cut(rec(STDOUT, 1, text(b"Content-type: text/html\r\n\r\n<p>uploaded 20000 bytes</p>\n"), align=0), 20)[1]) \
    .s(10, end(1, align=0)) \
    .fin("server", 11).fin("client", 12)

# ---------------------------------------------------------------------------
# anomalies

vec("a_header_checks", "Header-level anomalies on the client side: bad_version (decoded anyway), reserved_nonzero,",
    "unknown_type (skipped by its lengths), null_request_id, management_id, bad_body_length, wrong_direction.") \
    .c(1, begin(1, version=2, note="version 2: php-fpm and HAProxy accept it"),
       params(1, [("REQUEST_METHOD", "GET"), ("SCRIPT_FILENAME", "/srv/a.php")], reserved=7),
       rec(PARAMS, 1), rec(STDIN, 1),
       rec(12, 1, text("??"), note="type 12 is unknown"),
       rec(PARAMS, 0, nv("A", "b"), note="null request id"),
       rec(GETV, 5, nv("FCGI_MAX_REQS", ""), note="management record with id 5"),
       rec(ABORT, 1, text("x"), note="ABORT with a body"),
       rec(STDOUT, 1, text("wrong side"), note="STDOUT from the client")) \
    .s(2, rec(UTYPE, 0, raw(bytes([12, 0, 0, 0, 0, 0, 0, 0]), 'type=12'))) \
    .s(3, rec(STDOUT, 1, text(b"Content-Type: text/plain\r\n\r\n")), rec(STDOUT, 1), end(1)) \
    .fin("server", 4).fin("client", 5)

vec("a_bad_body_length", "BEGIN_REQUEST with a 6-byte body, END_REQUEST with a 12-byte body, UNKNOWN_TYPE with 4 bytes.") \
    .c(1, rec(BEGIN, 1, raw(bytes([0, 1, 0, 0, 0, 0]), 'role=1 flags=0, 2 bytes short')),
       params(1, [("REQUEST_METHOD", "GET"), ("SCRIPT_FILENAME", "/srv/a.php")]), rec(PARAMS, 1), rec(STDIN, 1)) \
    .s(2, rec(STDOUT, 1, text(b"\r\n")), rec(STDOUT, 1),
       rec(END, 1, raw(bytes(12), 'appStatus=0 protocolStatus=0 + 4 extra bytes')),
       rec(UTYPE, 0, raw(bytes([99, 0, 0, 0]), 'short'))) \
    .fin("server", 3).fin("client", 4)

vec("a_oversized_record", "A STDIN record with contentLength 65535 and paddingLength 8 (sum > 65535: php-fpm drops it).",
    "Still framed by its lengths; CONTENT_LENGTH matches.") \
    .c(1, begin(1), params(1, [("REQUEST_METHOD", "PUT"), ("SCRIPT_FILENAME", "/srv/a.php"),
                               ("CONTENT_LENGTH", "65535")]), rec(PARAMS, 1)) \
    .c(2, rec(STDIN, 1, rep(0x61, 65535), pad=8)) \
    .c(3, rec(STDIN, 1)) \
    .s(4, *libfcgi_response()) \
    .fin("server", 5).fin("client", 6)

vec("a_desync", "The server sends garbage where a header must start (version 0x48, type 0x54: 'HTTP/1.1').",
    "desync: the rest of the server direction is not decoded; the request ends with reason desync at close.") \
    .c(1, *simple_request()) \
    .s(2, rec(STDOUT, 1, text(b"Content-Type: text/plain\r\n\r\nok")), text(b"HTTP/1.1 200 OK\r\n\r\n")) \
    .s(3, *libfcgi_response()) \
    .fin("server", 4).fin("client", 5)

vec("a_truncated_record", "The client closes inside a PARAMS record; the server closes too.",
    "truncated_record, stream_not_terminated, incomplete_request (closed).") \
    .c(1, begin(1), *cut(params(1, [("REQUEST_METHOD", "GET"), ("SCRIPT_FILENAME", "/srv/a.php")]), 20)[:1]) \
    .fin("client", 2).fin("server", 3)

vec("a_capture_gap", "Bytes missing from the capture: once inside a STDIN record (framing kept, the missing bytes",
    "counted), once across a record boundary in the server direction: the gap swallows the end of a STDOUT",
    "record and the first 2 header bytes of the next one; hunting skips the rest of that record and",
    "resynchronises on the empty STDOUT record, confirmed by the END_REQUEST header after it.") \
    .c(1, begin(1), params(1, [("REQUEST_METHOD", "POST"), ("SCRIPT_FILENAME", "/srv/a.php"), ("CONTENT_LENGTH", "100")]),
       rec(PARAMS, 1), cut(rec(STDIN, 1, rep(0x62, 100)), 30)[0]) \
    .gap("client", 50, 2) \
    .c(3, raw(b"b" * 28 + bytes(4), 'last 28 content bytes and the padding of the STDIN record'), rec(STDIN, 1)) \
    .s(4, cut(rec(STDOUT, 1, text(b"Content-Type: text/plain\r\n\r\n0123456789")), 20)[0]) \
    .gap("server", 30, 5) \
    .s(6, raw(rec(STDOUT, 1, text(b"more body")).data[2:], 'a STDOUT record without its first 2 bytes'),
       rec(STDOUT, 1), end(1)) \
    .fin("server", 7).fin("client", 8)

vec("a_midstream_start", "The capture starts inside a connection: the client side in the middle of a STDIN record,",
    "the server side at a record boundary (synchronised at offset 0). Records of the request that",
    "began before the capture are not flagged; a new request on the connection is decoded normally.") \
    .option("midstream-client").option("midstream-server") \
    .c(1, raw(b"z" * 13 + bytes(3), 'tail of an earlier STDIN record'), rec(STDIN, 1)) \
    .s(2, *libfcgi_response()) \
    .c(3, *simple_request(flags=1)) \
    .s(4, *libfcgi_response()) \
    .fin("client", 5).fin("server", 6)

vec("a_gap_in_request", "A gap that loses record boundaries inside a request: the client's PARAMS",
    "record is cut after REQUEST_METHOD, the rest of it and the empty PARAMS record are missing. The decoder",
    "resynchronises on the STDIN record; the request is marked (tx.gap) and nothing the lost bytes explain",
    "fires (no stream_order for STDIN before PARAMS ended, no early_response, no content_length_missing, no",
    "stream_not_terminated when the next request on the id begins): capture_gap is the only warning.") \
    .c(1, begin(1, flags=1), cut(params(1, [("REQUEST_METHOD", "POST"), ("SCRIPT_FILENAME", "/srv/a.php"),
                                           ("CONTENT_LENGTH", "10"), ("REQUEST_URI", "/a")]), 28)[0]) \
    .gap("client", 68, 2) \
    .c(3, rec(STDIN, 1, text("0123456789")), rec(STDIN, 1)) \
    .s(4, *libfcgi_response()) \
    .c(5, *simple_request(flags=1)) \
    .s(6, *libfcgi_response()) \
    .fin("client", 7).fin("server", 8)

vec("a_gap_end_request_lost", "A gap in the server direction swallows the end of a STDOUT record and the END_REQUEST",
    "of request 1; the web server (keep-alive) then begins the next request on id 1. The first request ends",
    "there (end=gap, incomplete_request as a note, tx.gap) instead of duplicate_begin, and the answer that",
    "follows belongs to the new request. A second loss in request 2's STDOUT (tag 6) marks request 2, which",
    "ends at gap too when request 3 begins (tag 7): its END_REQUEST, captured at tag 6 after the tail of the",
    "STDOUT record, is confirmed as a record header only by the next header (tag 8); replayed then, it is",
    "not applied to request 3 (captured before request 3's BEGIN_REQUEST), which completes normally.") \
    .c(1, *simple_request(flags=1)) \
    .s(2, cut(rec(STDOUT, 1, text(b"Content-Type: text/plain\r\n\r\n0123456789")), 20)[0]) \
    .gap("server", 44, 3) \
    .c(4, *simple_request(flags=1, pairs=[("REQUEST_METHOD", "GET"), ("SCRIPT_FILENAME", "/srv/b.php"),
                                          ("REQUEST_URI", "/b")])) \
    .s(5, cut(rec(STDOUT, 1, text(b"Content-Type: text/plain\r\n\r\nbbbbbbbbbbbbbbbbbbbbbb")), 16)[0]) \
    .gap("server", 20, 6) \
    .s(6, raw(rec(STDOUT, 1, text(b"Content-Type: text/plain\r\n\r\nbbbbbbbbbbbbbbbbbbbbbb")).data[36:],
              'the last 20 bytes of that STDOUT record'), end(1)) \
    .c(7, *simple_request(flags=1, pairs=[("REQUEST_METHOD", "GET"), ("SCRIPT_FILENAME", "/srv/c.php"),
                                          ("REQUEST_URI", "/c")])) \
    .s(8, *libfcgi_response()) \
    .fin("client", 9).fin("server", 10)

vec("a_gap_lost_begin", "Losses in both directions: the end of request 1's STDOUT is missing (its END_REQUEST then waits",
    "for confirmation), and the whole next request on id 1 is missing from the client direction. Its answer",
    "confirms request 1's END_REQUEST (request 1 complete, tx.gap); the STDOUT and END_REQUEST of the lost",
    "request are framed, not applied, and raise nothing (no inactive_request, no duplicate_end).") \
    .c(1, *simple_request(flags=1)) \
    .s(2, cut(rec(STDOUT, 1, text(b"Content-Type: text/plain\r\n\r\n0123456789")), 20)[0]) \
    .gap("server", 36, 3) \
    .s(4, end(1)) \
    .gap("client", 112, 5) \
    .s(6, *libfcgi_response()) \
    .fin("client", 7).fin("server", 8)

vec("a_capture_start_partial", "The capture starts inside a connection: the client side inside the PARAMS",
    "record of a request begun before the capture, the server side inside that request's STDOUT record.",
    "The tail of its PARAMS, its STDIN, STDOUT and END_REQUEST are framed but not applied and raise",
    "nothing: two midstream_start notes are the only findings. The next request is decoded as usual.") \
    .option("midstream-client").option("midstream-server") \
    .c(1, raw(params(1, [("REQUEST_METHOD", "GET"), ("SCRIPT_FILENAME", "/srv/a.php"),
                         ("REQUEST_URI", "/early")]).data[30:], 'the last bytes of a PARAMS record'),
       rec(PARAMS, 1), rec(STDIN, 1)) \
    .s(2, raw(rec(STDOUT, 1, text(b"Content-Type: text/plain\r\n\r\nearly answer\n")).data[12:],
              'the last bytes of a STDOUT record'), rec(STDOUT, 1), end(1)) \
    .c(3, *simple_request(flags=1)) \
    .s(4, *libfcgi_response()) \
    .fin("client", 5).fin("server", 6)

vec("a_capture_end_partial", "The capture ends, not the connection: request 1 is in flight with its",
    "STDOUT record cut by the end of the capture, request 2 got END_REQUEST before its empty STDIN was",
    "captured, and the client direction ends inside a record header. No truncated_record (that is for",
    "a FIN/RST inside a record), no stream_not_terminated: request 1 is delivered end=capture_end with an",
    "incomplete_request note, request 2 complete; the cut record is delivered truncated.") \
    .c(1, *simple_request(rid=1, flags=1)) \
    .c(2, *simple_request(rid=2, flags=1, pairs=[("REQUEST_METHOD", "POST"), ("SCRIPT_FILENAME", "/srv/b.php"),
                                                 ("CONTENT_LENGTH", "2")], stdin=b"xy")[:-1]) \
    .s(3, rec(STDOUT, 2, text(b"Status: 201\r\n\r\n")), end(2),
       cut(rec(STDOUT, 1, text(b"Content-Type: text/plain\r\n\r\npartial answer")), 30)[0]) \
    .c(4, raw(rec(STDIN, 2).data[:5], 'the first 5 bytes of the empty STDIN record')) \
    .finish(5)

vec("a_request_lifecycle", "Request id misuse: duplicate_begin (BEGIN for the active id 1), inactive_request (STDIN for",
    "id 9), duplicate_end (a second END_REQUEST for id 1), request_aborted (ABORT then END for id 2),",
    "protocol_status (OVERLOADED = warning, 7 = error), unknown_role (role 9), multiplexed.") \
    .c(1, begin(1), params(1, [("REQUEST_METHOD", "GET"), ("SCRIPT_FILENAME", "/srv/a.php")]), rec(PARAMS, 1),
       begin(1, note="duplicate"), rec(STDIN, 1), rec(STDIN, 9, text("??"))) \
    .s(2, *libfcgi_response(1)) \
    .s(3, end(1)) \
    .c(4, begin(2, role=1, flags=1), params(2, [("REQUEST_METHOD", "GET"), ("SCRIPT_FILENAME", "/srv/b.php")]),
       rec(PARAMS, 2), rec(STDIN, 2), rec(ABORT, 2)) \
    .s(5, end(2, app=0, ps=2)) \
    .c(6, begin(3, role=9, flags=1), begin(4, role=1, flags=1), params(4, [("REQUEST_METHOD", "GET"),
                                                                         ("SCRIPT_FILENAME", "/srv/c.php")]),
       rec(PARAMS, 4), rec(STDIN, 4), rec(PARAMS, 3), rec(STDIN, 3)) \
    .s(7, end(4, ps=7), end(3, ps=3)) \
    .fin("client", 8).fin("server", 9)

vec("a_stream_rules", "Stream order and termination: stream_order (STDIN before PARAMS ended), early_response (STDOUT",
    "before PARAMS ended), data_after_stream_end (PARAMS after its empty record), response_no_header (STDOUT",
    "ended without a blank line), then request 2 whose client never ends STDIN: stream_not_terminated at close.") \
    .c(1, begin(1), params(1, [("REQUEST_METHOD", "GET")]), rec(STDIN, 1, text("early"))) \
    .s(2, rec(STDOUT, 1, text(b"Content-Type: text/plain\r\nno blank line"))) \
    .c(3, params(1, [("SCRIPT_FILENAME", "/srv/a.php"), ("CONTENT_LENGTH", "5")]), rec(PARAMS, 1),
       params(1, [("LATE", "1")]), rec(STDIN, 1)) \
    .s(4, rec(STDOUT, 1), end(1)) \
    .c(5, begin(2), params(2, [("REQUEST_METHOD", "GET"), ("SCRIPT_FILENAME", "/srv/a.php")]), rec(PARAMS, 2)) \
    .s(6, *libfcgi_response(2)) \
    .fin("server", 7).fin("client", 8)

vec("a_keep_conn_server_close", "The last request set KEEP_CONN but the server closes first: keep_conn_violation.") \
    .c(1, *simple_request(flags=1)) \
    .s(2, *libfcgi_response()) \
    .fin("server", 3).fin("client", 4)

vec("a_keep_conn_reuse", "A second BEGIN_REQUEST on a connection whose previous request cleared KEEP_CONN.") \
    .c(1, *simple_request(flags=0)) \
    .s(2, *libfcgi_response()) \
    .c(3, *simple_request(flags=0)) \
    .s(4, *libfcgi_response()) \
    .fin("server", 5).fin("client", 6)

vec("a_incomplete", "The capture ends while a request waits for its answer: incomplete_request (capture_end),",
    "no stream_not_terminated (the capture simply ended).") \
    .c(1, *simple_request()) \
    .s(2, rec(STDOUT, 1, text(b"Content-Type: text/plain\r\n\r\npartial"))) \
    .finish(3)

vec("a_nv_pairs", "Name-value pairs: nv_straddle (a pair across two PARAMS records), 4-byte lengths, nv_nul,",
    "nv_empty_name, and nv_overrun (a length running past the end of the stream).") \
    .c(1, begin(1), *[rec(PARAMS, 1, raw(nv("REQUEST_METHOD", "GET").data + nv("SCRIPT_FILENAME", "/srv/a.php").data[:9]),
                          note="pair cut after 9 bytes"),
                      rec(PARAMS, 1, raw(nv("SCRIPT_FILENAME", "/srv/a.php").data[9:]))],
       params(1, [("X_LONG", "v" * 200), ("X_NUL", "a\x00b"), ("", "empty name")]),
       rec(PARAMS, 1, raw(bytes([5, 10]) + b"SHORT" + b"abc"), note="value length 10, only 3 bytes before the end"),
       rec(PARAMS, 1), rec(STDIN, 1)) \
    .c(2, rec(GETV, 0, raw(bytes([13, 0]) + b"FCGI_MAX"), note="GET_VALUES pair cut by the record end")) \
    .s(3, *libfcgi_response()) \
    .fin("server", 4).fin("client", 5)

vec("a_param_checks", "Parameter checks: duplicate_param (warning for HTTP_ACCEPT and REQUEST_URI, error for",
    "SCRIPT_FILENAME), param_ctl_chars (%0a in PATH_INFO: CVE-2019-11043), httpoxy, php_ini_override,",
    "content_length_invalid. The convenience fields take the last occurrence.") \
    .c(1, begin(1), params(1, [("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/a.php"), ("SCRIPT_FILENAME", "/srv/a.php"),
                               ("HTTP_ACCEPT", "*/*"), ("HTTP_ACCEPT", "text/html"),
                               ("SCRIPT_FILENAME", "/srv/evil.php"), ("PATH_INFO", "/x%0Ay"),
                               ("HTTP_PROXY", "http://evil:8080"), ("PHP_VALUE", "auto_prepend_file=/tmp/x"),
                               ("CONTENT_LENGTH", "12a"), ("REQUEST_URI", "/b.php")]),
       rec(PARAMS, 1), rec(STDIN, 1)) \
    .s(2, *libfcgi_response()) \
    .fin("server", 3).fin("client", 4)

vec("a_content_length", "CONTENT_LENGTH checks: 1) says 10, STDIN carries 4 (mismatch at the end of STDIN);",
    "2) STDIN exceeds CONTENT_LENGTH 2 (mismatch when exceeded); 3) a body without CONTENT_LENGTH (missing);",
    "4) a RESPONDER without REQUEST_METHOD and SCRIPT_FILENAME (missing_required_param).") \
    .c(1, *simple_request(rid=1, flags=1, pairs=[("REQUEST_METHOD", "POST"), ("SCRIPT_FILENAME", "/a"),
                                                ("CONTENT_LENGTH", "10")], stdin=b"abcd")) \
    .s(2, *libfcgi_response(1)) \
    .c(3, *simple_request(rid=1, flags=1, pairs=[("REQUEST_METHOD", "POST"), ("SCRIPT_FILENAME", "/a"),
                                                ("CONTENT_LENGTH", "2")], stdin=b"abcd")) \
    .s(4, *libfcgi_response(1)) \
    .c(5, *simple_request(rid=1, flags=1, pairs=[("REQUEST_METHOD", "POST"), ("SCRIPT_FILENAME", "/a"),
                                                ("CONTENT_LENGTH", "")], stdin=b"abcd")) \
    .s(6, *libfcgi_response(1)) \
    .c(7, *simple_request(rid=1, flags=1, pairs=[("QUERY_STRING", "")])) \
    .s(8, *libfcgi_response(1)) \
    .fin("client", 9).fin("server", 10)

vec("a_cgi_response", "CGI response header block: bad_status_header, LF-only line ends, a block split across",
    "STDOUT records, Status: with a reason phrase.") \
    .c(1, *simple_request(rid=1, flags=1)) \
    .s(2, rec(STDOUT, 1, text(b"Status: abc\r\nContent-Type: text/plain\r\n\r\nx")), rec(STDOUT, 1), end(1)) \
    .c(3, *simple_request(rid=1, flags=1)) \
    .s(4, rec(STDOUT, 1, text(b"Content-Type: image/png\nStat")), rec(STDOUT, 1, text(b"us:  302 Found \n\nbody")),
       rec(STDOUT, 1), end(1)) \
    .fin("client", 5).fin("server", 6)

vec("a_caps", "Decoder caps (options): param_cap_exceeded (stored params over 120 bytes; a pair over 64 bytes),",
    "cgi_header_cap_exceeded (block over 64 bytes), request_table_full (2 requests tracked at most:",
    "ids 5 and 7 refused with the same detail; the records of id 5 are counted, not reported),",
    "anomalies stored per request capped at 3.") \
    .option("max_params_bytes=120").option("max_pair_bytes=64").option("max_cgi_header_bytes=64") \
    .option("max_active_requests=2").option("max_request_anomalies=3") \
    .c(1, begin(1, flags=1), params(1, [("REQUEST_METHOD", "GET"), ("SCRIPT_FILENAME", "/srv/a.php"),
                                        ("HTTP_PROXY", "x"), ("HTTP_COOKIE", "c" * 80), ("A", "1"), ("B", "2"), ("C", "3"),
                                        ("SCRIPT_NAME", "/late")]),
       rec(PARAMS, 1), rec(STDIN, 1), begin(3, flags=1), begin(5, flags=1), begin(7, flags=1),
       rec(PARAMS, 5, nv("X", "y")), rec(PARAMS, 3), rec(STDIN, 3)) \
    .s(2, rec(STDOUT, 1, text(b"X-Long: " + b"h" * 70 + b"\r\n\r\nbody")), rec(STDOUT, 1), end(1),
       rec(STDOUT, 3, text(b"\r\n")), rec(STDOUT, 3), end(3), rec(STDOUT, 5, text(b"\r\n")), end(5)) \
    .fin("client", 3).fin("server", 4)

vec("a_roles", "AUTHORIZER (PARAMS only: request sent at the empty PARAMS) and FILTER (PARAMS, STDIN, DATA);",
    "DATA on a RESPONDER is stream_order.") \
    .c(1, begin(1, role=2, flags=1), params(1, [("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/private")]),
       rec(PARAMS, 1)) \
    .s(2, rec(STDOUT, 1, text(b"Status: 200\r\nVariable-USER: bob\r\n\r\n")), rec(STDOUT, 1), end(1)) \
    .c(3, begin(1, role=3, flags=1), params(1, [("REQUEST_METHOD", "GET"), ("FCGI_DATA_LENGTH", "4")]),
       rec(PARAMS, 1), rec(STDIN, 1), rec(DATA, 1, text("data")), rec(DATA, 1)) \
    .s(4, *libfcgi_response()) \
    .c(5, *simple_request(flags=1)[:-1], rec(DATA, 1, text("dd")), rec(STDIN, 1)) \
    .s(6, *libfcgi_response()) \
    .fin("client", 7).fin("server", 8)

# ---------------------------------------------------------------------------
# what the web server's client got (0.2.0): closes, abandonment, rejection, status

upload = nginx_params("POST", cl="100", extra=[("CONTENT_TYPE", "application/octet-stream")])
vec("c_rst_after_fin", "Truncated upload: the web server stops sending the body (30 of 100 bytes),",
    "sends FIN; the application writes part of an answer; the web server's kernel resets. The RST after the",
    "client's own FIN is still a reset: the request ends `reset`, stream_not_terminated says the client",
    "closed then reset, request_abandoned (499: the request was never fully sent).") \
    .c(1, begin(1), params(1, upload), rec(PARAMS, 1), rec(STDIN, 1, rep(0x75, 30))) \
    .fin("client", 3) \
    .s(4, rec(STDOUT, 1, text(b"Content-type: text/html\r\n\r\npartial"))) \
    .rst("client", 5)

vec("c_rst_after_fin_answered", "The same cut upload, but the application answers completely (END_REQUEST) after the",
    "client's FIN; then the client's RST. The request is complete (the application's 200) but the web",
    "server had given up (499); STDIN never ended: a warning now (answered), not answered_before_body",
    "(the web server stopped first).") \
    .c(1, begin(1), params(1, upload), rec(PARAMS, 1), rec(STDIN, 1, rep(0x75, 30))) \
    .fin("client", 3) \
    .s(4, rec(STDOUT, 1, text(PHP_OUT)), end(1)) \
    .rst("client", 5)

vec("c_abandoned_timeout", "nginx with fastcgi_read_timeout (here upstream_timeout_ms=3): the request is sent at 1 ms,",
    "nothing comes back, nginx closes at 5 ms (request_abandoned: 504); php-fpm writes its 200 at 6 ms into",
    "the closed socket and gets a RST back. The transaction keeps http_status 200, user_status 504.") \
    .option("upstream_timeout_ms=3") \
    .c(1, *nginx_request()) \
    .fin("client", 5) \
    .s(6, rec(STDOUT, 1, text(PHP_OUT)), end(1)) \
    .rst("client", 7)

vec("c_abandoned_client_gone", "The web server closes 1 ms after the application's first bytes, long before its",
    "timeout (default 60 s): its own client went away: request_abandoned, 499. php-fpm then finishes",
    "(END_REQUEST) and closes.") \
    .c(1, *nginx_request()) \
    .s(2, rec(STDOUT, 1, text(b"Content-type: text/html\r\n\r\nslow"))) \
    .fin("client", 3) \
    .s(4, rec(STDOUT, 1, text(b" page\n")), end(1)) \
    .fin("server", 5)

big_hdr = b"Content-type: text/html\r\nSet-Cookie: " + b"c" * 90 + b"\r\n\r\nbody\n"
vec("c_response_rejected", "nginx with a 64-byte fastcgi_buffer_size (web_server_header_bytes=64): php-fpm answers with",
    "a 119-byte header block and END_REQUEST; php-fpm closes, then nginx resets (it read only part:",
    "\"upstream sent too big header\", 502). The reset is the next thing from the web server after the",
    "block: response_rejected, user_status 502; the request is delivered at the reset.") \
    .option("web_server_header_bytes=64") \
    .c(1, *nginx_request()) \
    .s(2, rec(STDOUT, 1, text(big_hdr)), end(1)) \
    .fin("server", 3) \
    .rst("client", 4)

vec("c_big_header_accepted", "The same big header block (web_server_header_bytes=64) on a KEEP_CONN connection that",
    "the web server reuses for a second request (it took the answer: no rejection), then closes normally",
    "with FIN after END_REQUEST (not evidence of a rejection either).") \
    .option("web_server_header_bytes=64") \
    .c(1, *nginx_request(flags=1)) \
    .s(2, rec(STDOUT, 1, text(big_hdr)), end(1)) \
    .c(3, *nginx_request(flags=1)) \
    .s(4, rec(STDOUT, 1, text(big_hdr)), end(1)) \
    .fin("client", 5).fin("server", 6)

vec("c_rejected_before_end", "The web server closes (FIN) after a too-big header block before END_REQUEST came: rejected,",
    "not abandoned (web_server_header_bytes=64).") \
    .option("web_server_header_bytes=64") \
    .c(1, *nginx_request()) \
    .s(2, rec(STDOUT, 1, text(big_hdr))) \
    .fin("client", 3) \
    .s(4, end(1)) \
    .fin("server", 5)

vec("c_location_status", "Status as web servers derive it (RFC 3875 6.2.3): Location only -> 302 (location);",
    "Status: wins over Location (header); neither -> 200 (default).") \
    .c(1, *nginx_request(flags=1)) \
    .s(2, rec(STDOUT, 1, text(b"Location: /login\r\nContent-type: text/html\r\n\r\n")), end(1)) \
    .c(3, *nginx_request(flags=1)) \
    .s(4, rec(STDOUT, 1, text(b"Status: 301 Moved Permanently\r\nLocation: https://x/\r\n\r\n")), end(1)) \
    .c(5, *nginx_request(flags=1)) \
    .s(6, rec(STDOUT, 1, text(b"Content-type: text/plain\r\n\r\nok")), end(1)) \
    .fin("client", 7).fin("server", 8)

vec("c_backend_closed", "The application closes (FIN) in the middle of its answer, without END_REQUEST: the web",
    "server answers 502 (backend_failed); closed_by server.") \
    .c(1, *nginx_request()) \
    .s(2, rec(STDOUT, 1, text(b"Content-type: text/html\r\n\r\nhalf"))) \
    .fin("server", 3).fin("client", 4)

vec("c_go_padding", "Go's net/http/fcgi pads a full 65535-byte STDOUT record by one byte (65535 + 1): from the",
    "server that is a note (web servers take it), not the oversized_record warning.") \
    .c(1, *nginx_request()) \
    .s(2, rec(STDOUT, 1, text(b"Content-Type: text/plain\r\n\r\n"), rep(0x67, 65535 - 28), pad=1)) \
    .s(3, rec(STDOUT, 1), end(1)) \
    .fin("server", 4).fin("client", 5)

vec("c_http_to_fastcgi", "An HTTP request sent to a FastCGI port (proxy_pass / fastcgi_pass mix-up): the desync",
    "detail names HTTP.") \
    .c(1, text(b"GET /index.php HTTP/1.1\r\nHost: x\r\n\r\n")) \
    .fin("client", 2).fin("server", 3)

vec("c_tls_to_fastcgi", "A TLS ClientHello sent to a FastCGI port: 16 03 01 reads as version 22, type 3: bad_version",
    "names TLS (the record is still framed by its lengths).") \
    .c(1, raw(bytes([0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x04, 0x03, 0x03, 0, 0, 0, 0, 0]), 'TLS record header + ClientHello start')) \
    .fin("client", 2).fin("server", 3)

vec("c_chunked_upload", "nginx with fastcgi_request_buffering off: CONTENT_LENGTH empty, a body in",
    "STDIN records; PHP reads nothing, answers 200 and closes while nginx is still sending; nginx stops.",
    "content_length_missing at the first STDIN record; answered_before_body; stream_not_terminated",
    "(warning: the application had answered).") \
    .c(1, begin(1), params(1, nginx_params("POST", uri="/up.php", cl="", extra=[("HTTP_TRANSFER_ENCODING", "chunked")])),
       rec(PARAMS, 1), rec(STDIN, 1, rep(0x63, 40))) \
    .s(2, rec(STDOUT, 1, text(PHP_OUT)), end(1)) \
    .c(3, rec(STDIN, 1, rep(0x63, 40))) \
    .fin("server", 4).rst("client", 5)

vec("c_partial_body_answer", "CONTENT_LENGTH 100, the application answers after 10 body bytes (it did not read the",
    "body): answered_before_body at END_REQUEST; then the body ends normally (no stream_not_terminated).") \
    .c(1, begin(1), params(1, nginx_params("POST", cl="100")), rec(PARAMS, 1), rec(STDIN, 1, rep(0x64, 10))) \
    .s(2, rec(STDOUT, 1, text(b"Status: 413 Payload Too Large\r\n\r\n")), end(1)) \
    .c(3, rec(STDIN, 1, rep(0x64, 90)), rec(STDIN, 1)) \
    .fin("server", 4).fin("client", 5)

fatal = b"PHP message: PHP Fatal error:  Uncaught Error: Call to undefined function f() in /var/www/a.php:3"
vec("c_application_error", "php-fpm fatal errors on STDERR. 1) output started (200), then the fatal",
    "error, its pattern cut across two STDERR records and packets: application_error. 2) the fatal error",
    "first, then Status: 500: no application_error (the user got a 5xx). 3) STDERR first, then a 200",
    "without Status: application_error when the header block ends.") \
    .c(1, *nginx_request(flags=1)) \
    .s(2, rec(STDOUT, 1, text(b"Content-type: text/html\r\n\r\n<html>half")), rec(STDERR, 1, text(fatal[:21]))) \
    .s(3, rec(STDERR, 1, text(fatal[21:])), end(1)) \
    .c(4, *nginx_request(flags=1)) \
    .s(5, rec(STDERR, 1, text(fatal)), rec(STDOUT, 1, text(b"Status: 500 Internal Server Error\r\n\r\n")), end(1)) \
    .c(6, *nginx_request(flags=1)) \
    .s(7, rec(STDERR, 1, text(b"PHP Parse error:  syntax error")), rec(STDOUT, 1, text(b"Content-type: text/html\r\n\r\n")), end(1)) \
    .fin("client", 8).fin("server", 9)

vec("c_get_values_unanswered", "HAProxy's GET_VALUES on an exhausted pool: never answered, HAProxy closes after its",
    "timeout: get_values_unanswered (when the connection closes).") \
    .c(1, rec(GETV, 0, nv("FCGI_MAX_REQS", ""), nv("FCGI_MPXS_CONNS", ""), align=0)) \
    .rst("client", 2)

vec("c_get_values_capture_end", "GET_VALUES unanswered when the capture ends: no finding (the answer may follow).") \
    .c(1, rec(GETV, 0, nv("FCGI_MAX_REQS", ""), align=0)) \
    .finish(2)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for v in VECTORS:
        path = os.path.join(d, v.name + '.vec')
        body = v.render()
        old_expect = ''
        if os.path.exists(path):
            old = open(path).read()
            if '\nexpect\n' in old:
                head, exp = old.split('\nexpect\n', 1)
                if head + '\n' == body:
                    old_expect = exp
        with open(path, 'w') as f:
            f.write(body + 'expect\n' + old_expect)
    print('%d vector files written to %s' % (len(VECTORS), d))


if __name__ == '__main__':
    main()
