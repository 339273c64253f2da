#!/usr/bin/env bash
# report_screenshot.sh — the README's picture of an HTML report: fcgiscope -f html
# on a real capture, rendered by headless Chromium (Debian package chromium).
#
#   scripts/report_screenshot.sh [CAPTURE [OUT.png [HEIGHT]]]
#
# Defaults: captures/real/nginx-phpfpm-maxreq.pcap (6 clients, a pool of 2
# workers recycled every 2 requests: attempts cut off and retried, requests
# queued), docs/img/html-report.png, 1700 pixels high (the headline and the
# three time charts), 1100 wide. The binary is
# $FCGISCOPE or build/analyzer/fcgiscope. Chromium runs with a private profile
# and HOME in a temporary folder, removed at the end; it loads nothing but the
# page (the page's Content-Security-Policy forbids every other load).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
cap=${1:-captures/real/nginx-phpfpm-maxreq.pcap}
out=${2:-docs/img/html-report.png}
height=${3:-1700}
bin=${FCGISCOPE:-build/analyzer/fcgiscope}
[ -x "$bin" ] || { echo "report_screenshot: $bin not built (bash scripts/quickstart.sh build)" >&2; exit 2; }
command -v chromium >/dev/null || { echo "report_screenshot: chromium not installed (apt-get install chromium)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the capture named as given (relative to the repository): that is what the page shows
"$bin" -f html -o "$tmp/report.html" "$cap"
sandbox=()
[ "$(id -u)" = 0 ] && sandbox=(--no-sandbox)   # Chromium's sandbox refuses root
HOME=$tmp timeout 120 chromium --headless=new "${sandbox[@]}" --disable-gpu --hide-scrollbars \
    --user-data-dir="$tmp/profile" --no-first-run --disable-extensions --disable-background-networking \
    --disable-component-update --disable-sync --window-size=1100,"$height" \
    --screenshot="$tmp/shot.png" "file://$tmp/report.html" >"$tmp/chromium.log" 2>&1 || {
    tail -5 "$tmp/chromium.log" >&2; exit 1; }
[ -s "$tmp/shot.png" ] || { echo "report_screenshot: no screenshot (see chromium's messages)" >&2; tail -5 "$tmp/chromium.log" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
cp "$tmp/shot.png" "$out"
echo "report_screenshot: $out ($(stat -c %s "$out") bytes) from $cap"
