#!/bin/bash
# captures/record/record.sh: re-records the real FastCGI captures in captures/real (FastCGI 1.0 over TCP, captured with tcpdump).
#
# Usage (as root, Debian 12):  captures/record/record.sh [PAIR...]
#   PAIRs: nginx-phpfpm nginx-phpfpm-keepconn haproxy-phpfpm haproxy-go apache-phpfpm
#          apache-phpfpm-reuse caddy-phpfpm lighttpd-phpfpm nginx-fcgiwrap nginx-libfcgi nginx-phpfpm-killed
#   failure scenarios (nginx or HAProxy + php-fpm on ports SCEN_PORT+1.., see captures/README.md):
#          nginx-phpfpm-failures nginx-phpfpm-backlog nginx-phpfpm-maxreq nginx-phpfpm-internal
#          haproxy-phpfpm-exhausted haproxy-phpfpm-pinned
#   (default: all of them, in that order; OUT/../demo.pcapng is rebuilt from nginx-phpfpm-keepconn)
# Environment: HTTP_PORT (default 18080), FCGI_PORT (default 9000), OUT (default captures/real),
#   SCEN_PORT (default 19300: the failure scenarios use SCEN_PORT+1..+3 and SCEN_PORT+9).
# The script refuses to start a pair if either port is already taken, runs every service on
# 127.0.0.1 in its own process group, and stops exactly those groups by PID.
#
# Debian 12 packages it needs:
#   nginx php8.2-fpm haproxy caddy lighttpd apache2 fcgiwrap spawn-fcgi libfcgi-dev
#   golang-go gcc libc6-dev curl tcpdump tshark (editcap, from wireshark-common) python3
#   util-linux (setsid, setpriv) iproute2 (ss) procps coreutils perl gawk|mawk
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CAPDIR=$(dirname "$HERE")
OUT=${OUT:-$CAPDIR/real}
HTTP_PORT=${HTTP_PORT:-18080}
FCGI_PORT=${FCGI_PORT:-9000}
ALL_PAIRS=(nginx-phpfpm nginx-phpfpm-keepconn haproxy-phpfpm haproxy-go apache-phpfpm
           apache-phpfpm-reuse caddy-phpfpm lighttpd-phpfpm nginx-fcgiwrap nginx-libfcgi nginx-phpfpm-killed
           nginx-phpfpm-failures nginx-phpfpm-backlog nginx-phpfpm-maxreq nginx-phpfpm-internal
           haproxy-phpfpm-exhausted haproxy-phpfpm-pinned)
RUNUSER=www-data

die() { echo "record.sh: $*" >&2; exit 1; }
log() { echo "record.sh: $*" >&2; }

[ "$(id -u)" = 0 ] || die "run as root (tcpdump on lo, services switching to $RUNUSER)"
# only the failure scenarios requested: nginx/HAProxy + php-fpm are enough (no Go/libfcgi build)
SCEN_ONLY=$([ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qv -e '^nginx-phpfpm-failures$' \
    -e '^nginx-phpfpm-backlog$' -e '^nginx-phpfpm-maxreq$' -e '^nginx-phpfpm-internal$' \
    -e '^haproxy-phpfpm-exhausted$' -e '^haproxy-phpfpm-pinned$' && echo 1 || true)
if [ -n "$SCEN_ONLY" ]; then
    TOOLS="nginx haproxy php-fpm8.2 curl tcpdump tshark python3 setsid setpriv ss"
else
    TOOLS="nginx php-fpm8.2 haproxy caddy lighttpd apache2 fcgiwrap spawn-fcgi go gcc curl
           tcpdump editcap tshark python3 setsid setpriv ss"
fi
for t in $TOOLS; do
    command -v "$t" >/dev/null || die "missing tool: $t (see the package list at the top)"
done
id "$RUNUSER" >/dev/null 2>&1 || die "user $RUNUSER does not exist"

T=$(mktemp -d /tmp/fcgiscope-record.XXXXXX)
chmod 755 "$T"
GROUPS_STARTED=()   # process group ids (= PIDs of the setsid'ed leaders) still running

stop_group() {      # stop_group PID [SIGNAL]: stop the process group we started, by its leader's PID
    local pid=$1 sig=${2:-TERM} i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -"$sig" -- "-$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
        if ! kill -0 "$pid" 2>/dev/null && [ -z "$(pgrep -g "$pid" 2>/dev/null)" ]; then break; fi
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null || [ -n "$(pgrep -g "$pid" 2>/dev/null)" ]; then
        log "process group $pid did not stop on SIG$sig; sending SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    local keep=() g
    for g in "${GROUPS_STARTED[@]}"; do [ "$g" = "$pid" ] || keep+=("$g"); done
    GROUPS_STARTED=("${keep[@]+"${keep[@]}"}")
}

cleanup() {
    local g
    for g in "${GROUPS_STARTED[@]+"${GROUPS_STARTED[@]}"}"; do stop_group "$g"; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

START_PID=
start_bg() {        # start_bg LOGFILE CMD...: run CMD in a new session (its own process group)
    local logf=$1; shift
    setsid "$@" >"$logf" 2>&1 </dev/null &
    START_PID=$!
    GROUPS_STARTED+=("$START_PID")
}

port_taken() { [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]; }

wait_port() {       # wait_port PORT PID NAME
    local i
    for i in $(seq 1 100); do
        port_taken "$1" && return 0
        kill -0 "$2" 2>/dev/null || die "$3 exited before listening on $1: $(tail -c 600 "$W"/*.out 2>/dev/null)"
        sleep 0.1
    done
    die "$3 did not listen on 127.0.0.1:$1"
}

fill() {            # fill FILE: substitute @VAR@ in a template
    sed -e "s#@TMP@#$W#g" -e "s#@HTTP_PORT@#$HTTP_PORT#g" -e "s#@FCGI_PORT@#$FCGI_PORT#g" \
        -e "s#@ROOT@#$ROOT#g" -e "s#@UPSTREAM_EXTRA@#${UPSTREAM_EXTRA:-}#g" \
        -e "s#@LOC_EXTRA@#${LOC_EXTRA:-}#g" \
        -e "s#@P_MAIN@#${P_MAIN:-}#g" -e "s#@P_TERM@#${P_TERM:-}#g" -e "s#@P_DENY@#${P_DENY:-}#g" \
        -e "s#@P_DOWN@#${P_DOWN:-}#g" -e "s#@P_A@#${P_A:-}#g" -e "s#@P_B@#${P_B:-}#g" \
        -e "s#@POOL@#${POOL:-}#g" -e "s#@POOL_PORT@#${POOL_PORT:-}#g" \
        -e "s#@POOL_BACKLOG@#${POOL_BACKLOG:-64}#g" -e "s#@POOL_CHILDREN@#${POOL_CHILDREN:-4}#g" \
        -e "s#@POOL_MAX_REQUESTS@#${POOL_MAX_REQUESTS:-0}#g" -e "s#@POOL_TERMINATE@#${POOL_TERMINATE:-0}#g" \
        -e "s#@POOL_EXTRA@#${POOL_EXTRA:-}#g" -e "s#@FCGI_APP_EXTRA@#${FCGI_APP_EXTRA:-}#g" "$1"
}

ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }

# ---- shared, built once --------------------------------------------------------------------
build_apps() {
    mkdir -p "$T/www" "$T/cgi" "$T/bin" "$T/gocache" "$T/gopath"
    cp "$HERE"/www/*.php "$T/www/"
    cp "$HERE"/cgi/* "$T/cgi/"
    chmod 755 "$T/www" "$T/cgi" "$T/cgi"/*
    chmod 644 "$T/www"/*
    if [ -z "$SCEN_ONLY" ]; then
        log "building the Go net/http/fcgi app"
        (cd "$HERE/go" && env GOCACHE="$T/gocache" GOPATH="$T/gopath" GOFLAGS= GO111MODULE=off \
            go build -o "$T/bin/goapp" fcgiapp.go)
        log "building the libfcgi app"
        gcc -std=c11 -O2 -Wall -Wextra -o "$T/bin/libfcgiapp" "$HERE/libfcgi/fcgiapp.c" -lfcgi
        chmod 755 "$T/bin" "$T/bin"/*
    fi
    # deterministic 200 KiB POST body
    python3 -c 'import sys; sys.stdout.write(("fcgiscope-post-body-0123456789abcdefghijklmnopqrstuvwxyz\n" * 4000)[:204800])' >"$T/body200k"
    local i
    FILL_HDRS=()
    for i in 1 2 3 4 5 6 7 8; do
        FILL_HDRS+=(-H "X-Fill-$i: $(printf '%0990d' 0 | tr 0 "$(printf "\\x$((60 + i))")")")
    done
}

# ---- backends --------------------------------------------------------------------------------
BACKEND_PID=
start_backend() {   # start_backend KIND
    case $1 in
    php-fpm)
        mkdir -p "$W/php-fpm"; chown "$RUNUSER:" "$W/php-fpm"
        ROOT=$T/www fill "$HERE/conf/php-fpm.conf.in" >"$W/php-fpm.conf"
        start_bg "$W/backend.out" setpriv --reuid="$RUNUSER" --regid="$RUNUSER" --init-groups \
            php-fpm8.2 -F -y "$W/php-fpm.conf" -p "$W/php-fpm"
        ;;
    go)
        start_bg "$W/backend.out" setpriv --reuid="$RUNUSER" --regid="$RUNUSER" --init-groups \
            "$T/bin/goapp" "127.0.0.1:$FCGI_PORT"
        ;;
    fcgiwrap)
        # fcgiwrap binds without SO_REUSEADDR: wait out TIME_WAIT sockets of the previous pair
        local i
        for i in $(seq 1 90); do
            [ -z "$(ss -Htan state time-wait "sport = :$FCGI_PORT" 2>/dev/null)" ] && break
            [ "$i" = 1 ] && log "waiting for TIME_WAIT sockets on port $FCGI_PORT to expire (fcgiwrap)"
            sleep 1
        done
        # -f: send the CGI scripts' stderr over FastCGI (STDERR records) instead of fcgiwrap's own stderr
        start_bg "$W/backend.out" setpriv --reuid="$RUNUSER" --regid="$RUNUSER" --init-groups \
            fcgiwrap -f -c 4 -s "tcp:127.0.0.1:$FCGI_PORT"
        ;;
    libfcgi)
        # -n: spawn-fcgi execs the app in place (no fork), so the PID we hold is the app's
        start_bg "$W/backend.out" spawn-fcgi -n -a 127.0.0.1 -p "$FCGI_PORT" -u "$RUNUSER" -g "$RUNUSER" \
            -- "$T/bin/libfcgiapp"
        ;;
    esac
    BACKEND_PID=$START_PID
    wait_port "$FCGI_PORT" "$BACKEND_PID" "backend $1"
}

# ---- frontends -------------------------------------------------------------------------------
FRONTEND_PID=
FRONTEND_LOG=
start_frontend() {  # start_frontend KIND
    case $1 in
    nginx)
        mkdir -p "$W/nginx"; chown "$RUNUSER:" "$W/nginx"
        fill "$HERE/conf/${NGINX_CONF:-nginx.conf.in}" >"$W/nginx.conf"
        start_bg "$W/frontend.out" nginx -p "$W/nginx" -c "$W/nginx.conf" -g 'daemon off;'
        FRONTEND_LOG=$W/nginx/access.log
        ;;
    haproxy-php|haproxy-go|haproxy-exhausted)
        fill "$HERE/conf/$1.cfg.in" >"$W/haproxy.cfg"
        haproxy -c -q -f "$W/haproxy.cfg" || die "haproxy config check failed"
        # log stdout format raw: the access log is haproxy's stdout
        setsid haproxy -db -f "$W/haproxy.cfg" >"$W/haproxy-access.log" 2>"$W/frontend.out" </dev/null &
        START_PID=$!; GROUPS_STARTED+=("$START_PID")
        FRONTEND_LOG=$W/haproxy-access.log
        ;;
    apache)
        mkdir -p "$W/apache"; chown "$RUNUSER:" "$W/apache"
        fill "$HERE/conf/apache.conf.in" >"$W/apache.conf"
        start_bg "$W/frontend.out" apache2 -d "$W/apache" -f "$W/apache.conf" -DFOREGROUND
        FRONTEND_LOG=$W/apache/access.log
        ;;
    caddy)
        mkdir -p "$W/caddy/data" "$W/caddy/config"
        fill "$HERE/conf/Caddyfile.in" >"$W/Caddyfile"
        start_bg "$W/frontend.out" env HOME="$W/caddy" XDG_DATA_HOME="$W/caddy/data" \
            XDG_CONFIG_HOME="$W/caddy/config" caddy run --config "$W/Caddyfile" --adapter caddyfile
        FRONTEND_LOG=$W/caddy/access.log
        ;;
    lighttpd)
        mkdir -p "$W/lighttpd"; chown "$RUNUSER:" "$W/lighttpd"
        fill "$HERE/conf/lighttpd.conf.in" >"$W/lighttpd.conf"
        start_bg "$W/frontend.out" lighttpd -D -f "$W/lighttpd.conf"
        FRONTEND_LOG=$W/lighttpd/access.log
        ;;
    esac
    FRONTEND_PID=$START_PID
    wait_port "$HTTP_PORT" "$FRONTEND_PID" "frontend $1"
}

# ---- capture ---------------------------------------------------------------------------------
TCPDUMP_PID=
start_capture() {   # start_capture FILE
    # --immediate-mode: without it libpcap hands packets over in blocks (1 s timeout), and the
    # packets of a block still open when tcpdump is stopped are lost without being counted as drops
    start_bg "$W/tcpdump.err" tcpdump -i lo -B 65536 -s 0 -U --immediate-mode -Z root -n -w "$1" \
        "${CAPTURE_FILTER:-tcp port $FCGI_PORT}"
    TCPDUMP_PID=$START_PID
    local i
    for i in $(seq 1 100); do
        grep -q 'listening on' "$W/tcpdump.err" 2>/dev/null && return 0
        kill -0 "$TCPDUMP_PID" 2>/dev/null || die "tcpdump failed: $(cat "$W/tcpdump.err")"
        sleep 0.1
    done
    die "tcpdump did not start"
}

DROPS=
stop_capture() {    # sets DROPS to tcpdump's "dropped by kernel" count
    stop_group "$TCPDUMP_PID" INT
    DROPS=$(sed -n 's/^\([0-9][0-9]*\) packets* dropped by kernel.*/\1/p' "$W/tcpdump.err")
    [ -n "$DROPS" ] || die "no drop count in tcpdump's output: $(cat "$W/tcpdump.err")"
}

# ---- workload --------------------------------------------------------------------------------
# curl.tsv columns: tag group method uri http_code size_download time_total size_upload curl_rc
req() {             # req TAG GROUP METHOD URI [curl args...]
    local tag=$1 group=$2 method=$3 uri=$4; shift 4
    local args=(-sS -o /dev/null --max-time 30 -H "X-Request-Id: $tag" -H 'Expect:'
                -w '%{http_code}\t%{size_download}\t%{time_total}\t%{size_upload}')
    case $method in
        HEAD) args+=(--head) ;;
        GET) ;;
        *) args+=(-X "$method") ;;
    esac
    local res rc=0
    res=$(curl "${args[@]}" "$@" "http://127.0.0.1:$HTTP_PORT$uri" 2>>"$W/curl.err") || rc=$?
    [ -n "$res" ] || res=$'000\t0\t0\t0'
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tag" "$group" "$method" "$uri" "$res" "$rc" >>"$W/curl.tsv"
}

declare -A U
set_uris() {        # set_uris KIND: the workload's paths for one backend kind
    case $1 in
    php-fpm) U=([index]=/index.php [post]=/post.php [big]=/big.php [stderr]=/stderr.php
                [missing]=/missing.php [error500]=/error500.php [redirect]=/redirect.php
                [slow]=/slow.php [stream]=/stream.php) ;;
    fcgiwrap) U=([index]=/index.sh [post]=/post.pl [big]=/big.sh [stderr]=/stderr.pl
                 [missing]=/missing.sh [error500]=/error500.sh [redirect]=/redirect.sh
                 [slow]=/slow.sh) ;;
    go|libfcgi) U=([index]=/index [post]=/post [big]=/big [stderr]=/stderr [missing]=/missing
                   [error500]=/error500 [redirect]=/redirect [slow]=/slow) ;;
    esac
}

workload() {        # workload PAIR: the standard 18 requests, tags PAIR-1 .. PAIR-18
    local p=$1 n=0
    : >"$W/curl.tsv"
    req "$p-$((n += 1))" 0 GET "${U[index]}"
    req "$p-$((n += 1))" 0 GET "${U[index]}?a=1&b=two&c=%20three"
    req "$p-$((n += 1))" 0 HEAD "${U[index]}"
    req "$p-$((n += 1))" 0 GET "${U[index]}?big_headers=8" "${FILL_HDRS[@]}"
    req "$p-$((n += 1))" 0 POST "${U[post]}" --data 'a=1&b=hello+world'
    req "$p-$((n += 1))" 0 POST "${U[post]}?size=200k" -H 'Content-Type: application/octet-stream' \
        --data-binary "@$T/body200k"
    req "$p-$((n += 1))" 0 GET "${U[big]}"
    req "$p-$((n += 1))" 0 GET "${U[stderr]}"
    req "$p-$((n += 1))" 0 GET "${U[missing]}"
    req "$p-$((n += 1))" 0 GET "${U[error500]}"
    req "$p-$((n += 1))" 0 GET "${U[redirect]}"
    req "$p-$((n += 1))" 0 GET "${U[slow]}?ms=20"
    req "$p-$((n += 1))" 0 GET "${U[slow]}?ms=100"
    req "$p-$((n += 1))" 0 GET "${U[slow]}?ms=300"
    sleep 0.2
    local pids=() i
    for i in 1 2 3 4; do
        req "$p-$((n + i))" 1 GET "${U[slow]}?ms=$((100 + 50 * i))" &
        pids+=($!)
        sleep 0.01
    done
    wait "${pids[@]}"
    sleep 0.2
}

workload_killed() { # workload_killed PAIR: normal GET, a streaming GET whose worker is killed, normal GET
    local p=$1
    : >"$W/curl.tsv"
    rm -f "$W/php-fpm/stream.pid"
    req "$p-1" 0 GET "${U[index]}"
    req "$p-2" 0 GET "${U[stream]}" &
    local cpid=$! i wpid=
    for i in $(seq 1 50); do
        [ -s "$W/php-fpm/stream.pid" ] && break
        sleep 0.05
    done
    wpid=$(cat "$W/php-fpm/stream.pid" 2>/dev/null || true)
    [ -n "$wpid" ] || die "stream.php did not write its PID"
    # only kill a worker of the php-fpm master this script started
    [ "$(ps -o ppid= -p "$wpid" | tr -d ' ')" = "$BACKEND_PID" ] || die "PID $wpid is not our php-fpm worker"
    sleep 0.6
    log "kill -9 php-fpm worker $wpid mid-response"
    kill -KILL "$wpid"
    wait "$cpid" || true
    sleep 0.5       # the master respawns a worker
    req "$p-3" 0 GET "${U[index]}"
    sleep 0.2
}

# ---- one pair --------------------------------------------------------------------------------
pair_spec() {       # sets FRONT BACK and the nginx upstream tweaks for PAIR
    UPSTREAM_EXTRA=; LOC_EXTRA=
    case $1 in
    nginx-phpfpm|nginx-phpfpm-killed) FRONT=nginx BACK=php-fpm ;;
    nginx-phpfpm-keepconn) FRONT=nginx BACK=php-fpm
        UPSTREAM_EXTRA='keepalive 4;'; LOC_EXTRA='fastcgi_keep_conn on;' ;;
    haproxy-phpfpm) FRONT=haproxy-php BACK=php-fpm ;;
    haproxy-go) FRONT=haproxy-go BACK=go ;;
    apache-phpfpm) FRONT=apache BACK=php-fpm ;;
    apache-phpfpm-reuse) FRONT=apache BACK=php-fpm LOC_EXTRA='enablereuse=on' ;;
    caddy-phpfpm) FRONT=caddy BACK=php-fpm ;;
    lighttpd-phpfpm) FRONT=lighttpd BACK=php-fpm ;;
    nginx-fcgiwrap) FRONT=nginx BACK=fcgiwrap ;;
    nginx-libfcgi) FRONT=nginx BACK=libfcgi ;;
    *) die "unknown pair: $1" ;;
    esac
    case $BACK in
        php-fpm) ROOT=$T/www ;;
        fcgiwrap) ROOT=$T/cgi ;;
        *) ROOT=$T/www ;;
    esac
    case $FRONT in
        nginx) FPKG=nginx ;; haproxy-*) FPKG=haproxy ;; apache) FPKG=apache2 ;;
        caddy) FPKG=caddy ;; lighttpd) FPKG=lighttpd ;;
    esac
    case $BACK in
        php-fpm) BPKG="php8.2-fpm $(ver php8.2-fpm)" ;;
        go) BPKG="golang-go $(ver golang-go) net/http/fcgi" ;;
        fcgiwrap) BPKG="fcgiwrap $(ver fcgiwrap) (CGI: sh, perl)" ;;
        libfcgi) BPKG="libfcgi $(ver libfcgi0ldbl) under spawn-fcgi $(ver spawn-fcgi)" ;;
    esac
    PAIR_DESC="$FPKG $(ver "$FPKG") -> $BPKG"
}

record_pair() {     # record_pair PAIR: one attempt; DROPS != 0 if the kernel dropped packets
    local p=$1
    pair_spec "$p"
    W=$T/run-$p
    rm -rf "$W"; mkdir -p "$W"; chmod 755 "$W"
    port_taken "$HTTP_PORT" && die "port $HTTP_PORT is taken; set HTTP_PORT"
    port_taken "$FCGI_PORT" && die "port $FCGI_PORT is taken; set FCGI_PORT"
    set_uris "$BACK"
    start_capture "$W/capture.pcap"
    start_backend "$BACK"
    start_frontend "$FRONT"
    if [ "$p" = nginx-phpfpm-killed ]; then workload_killed "$p"; else workload "$p"; fi
    sleep 0.3
    stop_group "$FRONTEND_PID"      # frontend first: it closes its kept-alive upstream connections
    sleep 0.3
    stop_group "$BACKEND_PID"
    sleep 1.5       # let tcpdump write the connections' closing segments
    stop_capture
    log "$p: $(grep -c . "$W/curl.tsv") requests, tcpdump dropped $DROPS"
    [ "$DROPS" = 0 ] || return 0
    cp "$W/capture.pcap" "$OUT/$p.pcap"
    cp "$FRONTEND_LOG" "$OUT/$p.frontend.log"
    cp "$W/curl.tsv" "$OUT/$p.curl.tsv"
    python3 "$HERE/mkexpect.py" --name "$p" --frontend "$FRONT" --backend "$BACK" \
        --pair "$PAIR_DESC" --port "$FCGI_PORT" --dir "$OUT" \
        $([ "$p" = nginx-phpfpm-killed ] && echo --killed)
}

# ---- failure scenarios (issues 12 and 19) ------------------------------------------------------
# Captures where something goes wrong, recorded with nginx + php-fpm on private ports
# SCEN_PORT+1.. (default 19301..; nothing may listen on SCEN_PORT+9: the "backend down" port).
# tcpdump records the whole TCP conversation on every FastCGI port (SYN, RST included).
# Scenario letters (a..m) are those of captures/README.md "Failure scenarios".
SCEN_PORT=${SCEN_PORT:-19300}

start_fpm_pools() { # start_fpm_pools "NAME PORT CHILDREN BACKLOG MAX_REQUESTS TERMINATE [EXTRA]"...
    mkdir -p "$W/php-fpm"; chown "$RUNUSER:" "$W/php-fpm"
    ROOT=$T/www fill "$HERE/conf/php-fpm-global.conf.in" >"$W/php-fpm.conf"
    local spec
    for spec in "$@"; do
        local a; read -r -a a <<<"$spec"
        POOL=${a[0]} POOL_PORT=${a[1]} POOL_CHILDREN=${a[2]} POOL_BACKLOG=${a[3]} \
            POOL_MAX_REQUESTS=${a[4]} POOL_TERMINATE=${a[5]} POOL_EXTRA="${a[*]:6}" \
            fill "$HERE/conf/php-fpm-pool.conf.in" >>"$W/php-fpm.conf"
    done
    start_bg "$W/backend.out" setpriv --reuid="$RUNUSER" --regid="$RUNUSER" --init-groups \
        php-fpm8.2 -F -y "$W/php-fpm.conf" -p "$W/php-fpm"
    BACKEND_PID=$START_PID
    for spec in "$@"; do
        local a; read -r -a a <<<"$spec"
        wait_port "${a[1]}" "$BACKEND_PID" "php-fpm pool ${a[0]}"
    done
}

SCEN_DESC=
scen_spec() {       # sets the ports, pools, nginx template and description of a scenario capture
    P_MAIN=$((SCEN_PORT + 1)); P_TERM=$((SCEN_PORT + 2)); P_DENY=$((SCEN_PORT + 3))
    P_DOWN=$((SCEN_PORT + 9)); P_A=$((SCEN_PORT + 1)); P_B=$((SCEN_PORT + 2))
    UPSTREAM_EXTRA=; LOC_EXTRA=; NGINX_CONF=nginx.conf.in; SCEN_ANZ_ARGS=(); SCEN_FRONT=nginx
    FCGI_APP_EXTRA=
    case $1 in
    nginx-phpfpm-failures)
        NGINX_CONF=nginx-failures.conf.in
        SCEN_PORTS=("$P_MAIN" "$P_TERM" "$P_DENY" "$P_DOWN")
        # what the wire cannot tell: nginx's fastcgi_read_timeout (1 s) and fastcgi_buffer_size (4k)
        SCEN_ANZ_ARGS=(--analyzer-arg=--upstream-timeout=1 --analyzer-arg=--max-header=4096)
        SCEN_POOLS=("main $P_MAIN 4 64 0 0" "term $P_TERM 2 64 0 1s"
                    "deny $P_DENY 1 64 0 0 listen.allowed_clients = 127.0.0.2")
        SCEN_DESC="one request per failure scenario, each on its own nginx location: a control GET; backend down (port $P_DOWN: nothing listens); php-fpm closing a connection from a client it does not allow (listen.allowed_clients, twice); fastcgi_read_timeout 1s on a 3 s script; a client hanging up after 0.5 s on a 2 s script; fastcgi_buffer_size 4k and 8 KB of response headers; a Location-only answer; a chunked upload with fastcgi_request_buffering off to a script that does not read it; a fatal error after output; request_terminate_timeout 1s on a 3 s script (pool on $P_TERM); a control GET"
        ;;
    nginx-phpfpm-backlog)
        SCEN_PORTS=("$P_MAIN")
        SCEN_POOLS=("backlog $P_MAIN 1 1 0 0")
        SCEN_DESC="php-fpm pool with listen.backlog = 1 and one worker; 8 concurrent GETs of a 200 ms script: the kernel drops SYNs of a full accept queue, nginx's connect is retried after 1 s"
        ;;
    nginx-phpfpm-maxreq)
        SCEN_PORTS=("$P_MAIN")
        SCEN_POOLS=("maxreq $P_MAIN 2 64 2 0")
        UPSTREAM_EXTRA='keepalive 4;'; LOC_EXTRA='fastcgi_keep_conn on;'
        SCEN_DESC="php-fpm pm.max_requests = 2 (2 workers) behind nginx fastcgi_keep_conn on + keepalive 4; 6 clients sending 25 requests each back to back on HTTP keep-alive connections: a worker that reached max_requests closes its kept-alive connection, and a request nginx sent on it is retried on a new connection"
        ;;
    nginx-phpfpm-internal)
        NGINX_CONF=nginx-internal.conf.in
        SCEN_PORTS=("$P_A" "$P_B")
        SCEN_POOLS=("a $P_A 2 64 0 0" "b $P_B 2 64 0 0")
        SCEN_DESC="one user request, two FastCGI requests: error_page 404 = /fallback.php (php-fpm 404, then the fallback's 200) and fastcgi_next_upstream http_503 with a backup server (pool a answers 503, pool b 200); plain requests between them"
        ;;
    haproxy-phpfpm-exhausted)
        SCEN_FRONT=haproxy-exhausted FCGI_APP_EXTRA='no option keep-conn'
        SCEN_PORTS=("$P_MAIN")
        SCEN_POOLS=("exhausted $P_MAIN 2 2 0 0")
        SCEN_DESC="HAProxy fcgi-app (option get-values, no option keep-conn, timeout connect 1s, retries 3) in front of a php-fpm pool of 2 workers (pm static) with listen.backlog = 2; 16 concurrent GETs of a 600 ms script: connections wait in the accept queue with their GET_VALUES unanswered, the kernel drops SYNs of the full queue, HAProxy gives a connection up after 1 s and retries on a new one, users wait seconds or get 503 after 4 attempts"
        ;;
    haproxy-phpfpm-pinned)
        SCEN_FRONT=haproxy-exhausted
        SCEN_PORTS=("$P_MAIN")
        SCEN_POOLS=("pinned $P_MAIN 2 2 0 0")
        SCEN_DESC="HAProxy fcgi-app as in haproxy-phpfpm-exhausted but with keep-conn at its default (on), in front of the same pool (2 workers, listen.backlog = 2); 8 concurrent GETs of a 200 ms script, a control GET 3.2 s after the last answer: the first two requests leave their connections idle with FCGI_KEEP_CONN and each holds a php-fpm worker, so no later connection is accepted; GET_VALUES goes unanswered and the users get 503 after 4 attempts"
        ;;
    *) die "unknown scenario capture: $1" ;;
    esac
    local f=() p
    for p in "${SCEN_PORTS[@]}"; do f+=("tcp port $p"); done
    CAPTURE_FILTER=$(printf '%s or ' "${f[@]}"); CAPTURE_FILTER=${CAPTURE_FILTER% or }
    ROOT=$T/www
    case $SCEN_FRONT in
        nginx) PAIR_DESC="nginx $(ver nginx) -> php8.2-fpm $(ver php8.2-fpm)" ;;
        *) PAIR_DESC="haproxy $(ver haproxy) -> php8.2-fpm $(ver php8.2-fpm)" ;;
    esac
}

slow_body() {       # slow_body: 16 KiB, a 0.4 s pause, 16 KiB more (a client still sending)
    head -c 16384 "$T/body200k"; sleep 0.4; head -c 16384 "$T/body200k"
}

workload_failures() {
    local p=$1 n=0
    : >"$W/curl.tsv"
    req "$p-$((n += 1))" 0 GET /index.php                          # control
    req "$p-$((n += 1))" 0 GET /down.php                           # a: connection refused
    req "$p-$((n += 1))" 0 GET /deny.php                           # b: accepted, then closed
    req "$p-$((n += 1))" 0 GET /deny.php                           # b: again (timing differs)
    local t0=$SECONDS
    req "$p-$((n += 1))" 0 GET '/timeout.php?ms=3000'              # c: 504 after 1 s
    req "$p-$((n += 1))" 0 GET '/wait.php?ms=2000' --max-time 0.5  # d: the client hangs up: 499
    req "$p-$((n += 1))" 0 GET '/bighdr.php?kb=8'                  # e: 502 too big header
    req "$p-$((n += 1))" 0 GET /location.php                       # f: Location only: 302
    n=$((n + 1))    # (req runs in a subshell of the pipe: count outside it)
    slow_body | req "$p-$n" 0 POST /nobody.php -T - -H 'Transfer-Encoding: chunked' \
        -H 'Content-Type: application/octet-stream'                # k: chunked, not read
    req "$p-$((n += 1))" 0 GET /fatal.php                          # l: fatal error after output
    req "$p-$((n += 1))" 0 GET '/term.php?ms=3000'                 # m: worker killed at 1 s: 502
    # the 3 s script of c writes its late answer (RST back) before the capture stops
    while [ $((SECONDS - t0)) -lt 4 ]; do sleep 0.2; done
    req "$p-$((n += 1))" 0 GET /index.php                          # control
    sleep 0.3
}

workload_backlog() {
    local p=$1 i pids=()
    : >"$W/curl.tsv"
    for i in 1 2 3 4 5 6 7 8; do
        req "$p-$i" 1 GET '/slow.php?ms=200' &
        pids+=($!)
        sleep 0.01
    done
    wait "${pids[@]}"
    sleep 0.3
}

req_keepalive() {   # req_keepalive GROUP TAG URI [TAG URI...]: GETs on one HTTP keep-alive connection
    local group=$1; shift
    local args=() tags=() uris=() first=1
    while [ $# -gt 0 ]; do
        [ -n "$first" ] || args+=(--next)
        first=
        args+=(-sS -o /dev/null --max-time 30 -H "X-Request-Id: $1" -H 'Expect:'
               -w '%{http_code}\t%{size_download}\t%{time_total}\t%{size_upload}\n'
               "http://127.0.0.1:$HTTP_PORT$2")
        tags+=("$1"); uris+=("$2"); shift 2
    done
    local res rc=0 i=0 line
    res=$(curl "${args[@]}" 2>>"$W/curl.err") || rc=$?
    while IFS= read -r line; do
        printf '%s\t%s\tGET\t%s\t%s\t%s\n' "${tags[$i]}" "$group" "${uris[$i]}" "$line" "$rc" >>"$W/curl.tsv"
        i=$((i + 1))
    done <<<"$res"
    [ "$i" = "${#tags[@]}" ] || die "req_keepalive: curl reported $i of ${#tags[@]} transfers"
}

workload_maxreq() { # 6 clients, each MAXREQ_PER_CLIENT GETs back to back on one HTTP keep-alive connection
    local p=$1 c i pids=()
    : >"$W/curl.tsv"
    for c in 1 2 3 4 5 6; do
        local a=()
        for i in $(seq 1 "${MAXREQ_PER_CLIENT:-25}"); do a+=("$p-$c-$i" "/tiny.php?c=$c&i=$i"); done
        req_keepalive "$c" "${a[@]}" &
        pids+=($!)
    done
    wait "${pids[@]}"
    sleep 0.3
}

workload_exhausted() { # 16 clients at once (20 ms apart), each one GET of a 600 ms script
    local p=$1 i pids=()
    : >"$W/curl.tsv"
    for i in $(seq 1 16); do
        req "$p-$i" 1 GET "/slow.php?ms=600&c=$i" &
        pids+=($!)
        sleep 0.02
    done
    wait "${pids[@]}"
    # a control GET 3.2 s later: the pool answers again, and the capture goes on long enough
    # after the last dropped SYN for it to be judged (docs/ANOMALIES.md connection_refused)
    sleep 3.2
    req "$p-17" 0 GET /index.php
    sleep 0.3
}

workload_pinned() {  # 8 clients at once (20 ms apart), each one GET of a 200 ms script; a control GET
    local p=$1 i pids=()
    : >"$W/curl.tsv"
    for i in $(seq 1 8); do
        req "$p-$i" 1 GET "/slow.php?ms=200&c=$i" &
        pids+=($!)
        sleep 0.02
    done
    wait "${pids[@]}"
    # (3.2 s: as in workload_exhausted, the capture must go on 3 s after the last dropped SYN)
    sleep 3.2
    req "$p-9" 0 GET /index.php
    sleep 0.3
}

workload_internal() {
    local p=$1 n=0
    : >"$W/curl.tsv"
    req "$p-$((n += 1))" 0 GET /index.php                          # plain
    req "$p-$((n += 1))" 0 GET /nosuch.php                         # i: 404 -> /fallback.php
    req "$p-$((n += 1))" 0 GET /pool503.php                        # j: 503 (pool a) -> pool b
    req "$p-$((n += 1))" 0 GET /index.php                          # plain
    req "$p-$((n += 1))" 0 GET '/nosuch.php?again=1'               # i
    req "$p-$((n += 1))" 0 GET '/pool503.php?again=1'              # j
    sleep 0.3
}

record_scenario() { # record_scenario NAME: one attempt; DROPS != 0 if the kernel dropped packets
    local p=$1 port
    scen_spec "$p"
    W=$T/run-$p
    rm -rf "$W"; mkdir -p "$W"; chmod 755 "$W"
    port_taken "$HTTP_PORT" && die "port $HTTP_PORT is taken; set HTTP_PORT"
    for port in "${SCEN_PORTS[@]}"; do
        port_taken "$port" && die "port $port is taken; set SCEN_PORT"
    done
    set_uris php-fpm
    start_capture "$W/capture.pcap"
    start_fpm_pools "${SCEN_POOLS[@]}"
    FCGI_PORT=$P_MAIN start_frontend "$SCEN_FRONT"
    case $p in
        nginx-phpfpm-failures) workload_failures "$p" ;;
        nginx-phpfpm-backlog) workload_backlog "$p" ;;
        nginx-phpfpm-maxreq) workload_maxreq "$p" ;;
        nginx-phpfpm-internal) workload_internal "$p" ;;
        haproxy-phpfpm-exhausted) workload_exhausted "$p" ;;
        haproxy-phpfpm-pinned) workload_pinned "$p" ;;
    esac
    sleep 0.3
    stop_group "$FRONTEND_PID"
    sleep 0.3
    stop_group "$BACKEND_PID"
    sleep 1.5
    stop_capture
    CAPTURE_FILTER=
    log "$p: $(grep -c . "$W/curl.tsv") requests, tcpdump dropped $DROPS"
    [ "$DROPS" = 0 ] || return 0
    cp "$W/capture.pcap" "$OUT/$p.pcap"
    cp "$FRONTEND_LOG" "$OUT/$p.frontend.log"
    cp "$W/curl.tsv" "$OUT/$p.curl.tsv"
    case $SCEN_FRONT in
        nginx) cp "$W/nginx/error.log" "$OUT/$p.frontend-error.log" ;;
        *) cp "$W/frontend.out" "$OUT/$p.frontend-error.log" ;;    # HAProxy's stderr
    esac
    local fe=nginx
    [ "$SCEN_FRONT" = nginx ] || fe=haproxy-php
    python3 "$HERE/mkexpect.py" --scenario --name "$p" --frontend "$fe" --backend php-fpm \
        --pair "$PAIR_DESC" --ports "$(IFS=,; echo "${SCEN_PORTS[*]}")" --dir "$OUT" \
        --description "$SCEN_DESC" ${SCEN_ANZ_ARGS[@]+"${SCEN_ANZ_ARGS[@]}"}
}

mkdir -p "$OUT"
build_apps
PAIRS=("$@")
[ ${#PAIRS[@]} -gt 0 ] || PAIRS=("${ALL_PAIRS[@]}")
for p in "${PAIRS[@]}"; do
    tries=0
    while :; do
        tries=$((tries + 1))
        case $p in
            nginx-phpfpm-failures|nginx-phpfpm-backlog|nginx-phpfpm-maxreq|nginx-phpfpm-internal|\
            haproxy-phpfpm-exhausted|haproxy-phpfpm-pinned)
                record_scenario "$p" ;;
            *) record_pair "$p" ;;
        esac
        [ "$DROPS" = 0 ] && break
        [ $tries -lt 3 ] || die "$p: the kernel dropped packets in $tries attempts"
        log "$p: kernel dropped packets; recording again"
    done
    if [ "$p" = nginx-phpfpm-keepconn ]; then
        editcap -F pcapng "$OUT/$p.pcap" "$(dirname "$OUT")/demo.pcapng"
        python3 "$HERE/mkexpect.py" --demo "$OUT/$p.expect.json" "$(dirname "$OUT")/demo.expect.json"
    fi
done
log "done: $OUT"
