#!/usr/bin/env bash
# plugin_bench.sh — the fastcgi Wireshark plugin against tshark's built-in fcgi dissector, side by side under farm-bench.
#
#   bench/plugin_bench.sh [--plugin SO] [--vs-plugin SO] [--capture FILE] [--size 100M] [--runs N]
#     --plugin SO     the plugin to measure (default build/dissector/fastcgi.so)
#     --vs-plugin SO  instead of the built-in dissector, compare with this
#                     plugin build (before/after a change)
#     --capture FILE  a capture with FastCGI on port 9000 (default: generated
#                     with fcgiscope-bench-gen --size SIZE --mss 1448, cached)
#     --size S        size of the generated capture (default 100M)
#     --runs N        farm-bench runs of each command (default 5)
#     --pref P:V      a preference for A's tshark (-o P:V), e.g.
#                     fastcgi.dissect_body:FALSE; repeatable
#
# What a Wireshark user runs on a big capture: a display filter over the
# whole file, no output (`tshark -r F -Y fastcgi -q`, one pass), against
# the built-in dissector asked to decode the same port
# (`tshark -r F -d tcp.port==9000,fcgi -Y fcgi -q`). farm-bench runs the two
# in turn (A B A B ...) and prints wall, CPU and peak memory as min / median
# / max and the A/B ratio pair by pair; quote the medians. tshark runs as
# nobody with a private HOME holding the plugin (tshark ignores personal
# plugins when run as root), the built-in with an empty HOME.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
plugin="$top/build/dissector/fastcgi.so"
vs_plugin=""
capture=""
size=100M
runs=5
prefs=""
while [ $# -gt 0 ]; do
    case "$1" in
        --plugin) plugin=$2; shift 2 ;;
        --vs-plugin) vs_plugin=$2; shift 2 ;;
        --capture) capture=$2; shift 2 ;;
        --size) size=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --pref) prefs="$prefs -o $2"; shift 2 ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "plugin_bench.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
command -v farm-bench >/dev/null || { echo "plugin_bench.sh: farm-bench not found" >&2; exit 2; }
command -v tshark >/dev/null || { echo "plugin_bench.sh: tshark not found" >&2; exit 2; }
[ -f "$plugin" ] || { echo "plugin_bench.sh: $plugin: not built" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/fastcgi-plugin-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
chmod 755 "$work"
abi=$(tshark --version | sed -n '1s/.* \([0-9]*\.[0-9]*\)\.[0-9]*.*/\1/p')

if [ -z "$capture" ]; then
    cache="${TMPDIR:-/tmp}/fcgiscope-bench"
    capture="$cache/plugin-bench-$size-1448.pcap"
    if [ ! -f "$capture" ]; then
        gen=$(command -v fcgiscope-bench-gen || true)
        for d in "$top/build-bench" "$top/build/bench"; do
            [ -z "$gen" ] && [ -x "$d/fcgiscope-bench-gen" ] && gen="$d/fcgiscope-bench-gen"
        done
        if [ -z "$gen" ]; then
            cmake -S "$top/bench" -B "$top/build-bench" -Wno-dev >/dev/null
            cmake --build "$top/build-bench" --target fcgiscope-bench-gen -j2 >/dev/null
            gen="$top/build-bench/fcgiscope-bench-gen"
        fi
        mkdir -p "$cache"
        "$gen" --size "$size" --mss 1448 -o "$capture"
    fi
fi
cp "$capture" "$work/capture.pcap"

home_with() { # DIR [PLUGIN]: a HOME for tshark, holding PLUGIN if given
    mkdir -p "$1/.local/lib/wireshark/plugins/$abi/epan"
    [ -n "${2:-}" ] && cp "$2" "$1/.local/lib/wireshark/plugins/$abi/epan/fastcgi.so"
    return 0
}
home_with "$work/a" "$plugin"
if [ -n "$vs_plugin" ]; then
    home_with "$work/b" "$vs_plugin"
else
    home_with "$work/b"
fi
mkdir -p "$work/extcap"
asuser=""
if [ "$(id -u)" = 0 ]; then
    chown -R nobody:nogroup "$work"
    asuser="setpriv --reuid=nobody --regid=nogroup --clear-groups"
fi
ts() { # HOME: the tshark command line (one string, farm-bench splits it)
    echo "$asuser env -i PATH=/usr/bin:/bin HOME=$1 WIRESHARK_EXTCAP_DIR=$work/extcap tshark"
}
cmd_a="$(ts "$work/a") -n -r $work/capture.pcap -d tcp.port==9000,fastcgi -Y fastcgi -q$prefs"
if [ -n "$vs_plugin" ]; then
    cmd_b="$(ts "$work/b") -n -r $work/capture.pcap -d tcp.port==9000,fastcgi -Y fastcgi -q"
    what_b="the plugin $vs_plugin"
else
    cmd_b="$(ts "$work/b") -n -r $work/capture.pcap -d tcp.port==9000,fcgi -Y fcgi -q"
    what_b="the built-in fcgi dissector"
fi
echo "# A: the plugin $plugin (tshark -Y fastcgi -q$prefs)"
echo "# B: $what_b"
load=$(uptime)
echo "# capture: $capture ($(stat -c %s "$capture") bytes); $(date -u '+%Y-%m-%d %H:%M UTC'); load ${load##*load average: }"
# shellcheck disable=SC2086
farm-bench -n "$runs" --timeout 1800 --vs "$cmd_b" -- $cmd_a
