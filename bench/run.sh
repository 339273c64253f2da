#!/usr/bin/env bash
# run.sh — the fcgiscope benchmark in one command: generate (or reuse) captures, time the bare libpcap loop, fcgiscope and tshark side by side.
#
# Normative reference: issue 6 (benchmark and targets); bench/README.md.
#
#   bench/run.sh [options]
#     --build DIR       build directory with the tools (default: build-bench,
#                       configured and built from bench/ standalone if missing)
#     --sizes LIST      capture sizes, e.g. 100M,1G (default 100M,1G)
#     --mss LIST        TCP segment payload sizes (default 1448,65483)
#     --no-ns           skip the nanosecond variant (default: one extra
#                       nanosecond capture of the smallest size, 1448-byte segments)
#     --reps N          repetitions; the table shows medians (default 5)
#     --no-tshark       skip tshark (it is slow)
#     --tshark-all      run tshark on every size (default: only sizes <= 100M,
#                       because on 1 GB it takes ~20 s and ~1.7 GB of memory a run)
#     --plugin SO       the fastcgi Wireshark plugin (default: build/dissector/fastcgi.so
#                       if built): adds `tshark -Y fastcgi -q` with it (also with
#                       -o fastcgi.reassemble_streams:TRUE) and the built-in
#                       `tshark -d tcp.port==9000,fcgi -Y fcgi -q` side by side, all
#                       as nobody when run as root (tshark ignores personal plugins for root)
#     --quick           CI-like: --sizes 10M --reps 1, no nanosecond variant
#     --dir DIR         capture cache (default ${TMPDIR:-/tmp}/fcgiscope-bench);
#                       captures are reused while the generator binary is unchanged
#     --clean           delete the capture cache at the end
#     --markdown FILE   also write the table as Markdown (for README.md)
#
# Every measurement is one process run under fcgiscope-benchrun (wall clock
# and the child's peak RSS from wait4). Runs are interleaved: each repetition
# runs every tool on every file in turn.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cmdline="bench/run.sh${*:+ $*}"
top=$(cd "$here/.." && pwd)
build=""
sizes="100M,1G"
msslist="1448,65483"
ns=1
reps=5
tshark=1
tshark_all=0
cache="${TMPDIR:-/tmp}/fcgiscope-bench"
clean=0
markdown=""
plugin=""

usage() { sed -n '4,25p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=$2; shift 2 ;;
        --sizes) sizes=$2; shift 2 ;;
        --mss) msslist=$2; shift 2 ;;
        --no-ns) ns=0; shift ;;
        --reps) reps=$2; shift 2 ;;
        --no-tshark) tshark=0; shift ;;
        --tshark-all) tshark_all=1; shift ;;
        --quick) sizes=10M; reps=1; ns=0; shift ;;
        --dir) cache=$2; shift 2 ;;
        --clean) clean=1; shift ;;
        --markdown) markdown=$2; shift 2 ;;
        --plugin) plugin=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
case "$reps" in ''|*[!0-9]*|0) echo "run.sh: --reps must be a positive number" >&2; exit 2 ;; esac

# ---- tools ---------------------------------------------------------------
if [ -z "$build" ]; then
    build="$top/build-bench"
    if [ ! -x "$build/fcgiscope-bench-gen" ] || [ ! -x "$build/analyzer/fcgiscope" ]; then
        echo "# building the benchmark tools in $build"
        cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    fi
    cmake --build "$build" -j2 --target bench-tools >/dev/null
fi
find_tool() {
    local t
    for t in "$build/bench/$1" "$build/$1" "$build/analyzer/$1"; do
        [ -x "$t" ] && { echo "$t"; return; }
    done
    echo "run.sh: $1 not found in $build (build the bench-tools target)" >&2
    exit 2
}
GEN=$(find_tool fcgiscope-bench-gen)
BARE=$(find_tool fcgiscope-bench-bareloop)
DEC=$(find_tool fcgiscope-bench-decoder)
RUN=$(find_tool fcgiscope-benchrun)
FCGI=$(find_tool fcgiscope)
TSHARK=""
if [ $tshark = 1 ]; then
    TSHARK=$(command -v tshark || true)
    [ -n "$TSHARK" ] || { echo "# tshark not found: skipped"; tshark=0; }
fi

# The plugin side by side: a private HOME holding it (WIRESHARK.md), and one
# without it for the built-in fcgi; tshark runs as nobody when we are root.
[ -z "$plugin" ] && [ -f "$top/build/dissector/fastcgi.so" ] && plugin="$top/build/dissector/fastcgi.so"
WS_PLUG=() WS_BUILTIN=()
if [ $tshark = 1 ] && [ -n "$plugin" ]; then
    [ -f "$plugin" ] || { echo "run.sh: --plugin $plugin: no such file" >&2; exit 2; }
    abi=$("$TSHARK" --version | sed -n '1s/.* \([0-9]*\.[0-9]*\)\.[0-9]*.*/\1/p')
    phome="$cache/ws-home-plugin"; bhome="$cache/ws-home-builtin"
    rm -rf "$phome" "$bhome"
    mkdir -p "$phome/.local/lib/wireshark/plugins/$abi/epan" "$bhome" "$cache/ws-extcap"
    cp "$plugin" "$phome/.local/lib/wireshark/plugins/$abi/epan/fastcgi.so"
    asuser=()
    if [ "$(id -u)" = 0 ]; then
        chown -R nobody:nogroup "$phome" "$bhome"
        asuser=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
    fi
    WS_PLUG=("${asuser[@]}" env -i PATH=/usr/bin:/bin HOME="$phome" WIRESHARK_EXTCAP_DIR="$cache/ws-extcap" "$TSHARK")
    WS_BUILTIN=("${asuser[@]}" env -i PATH=/usr/bin:/bin HOME="$bhome" WIRESHARK_EXTCAP_DIR="$cache/ws-extcap" "$TSHARK")
fi

bytes_of() { # 100M -> 100000000 (the generator's units: powers of 1000)
    local s=$1 n u
    n=${s%[kKmMgG]}; u=${s#"$n"}
    case "$u" in
        k|K) echo $((n * 1000)) ;; m|M) echo $((n * 1000000)) ;;
        g|G) echo $((n * 1000000000)) ;; '') echo "$n" ;;
    esac
}

# ---- captures ------------------------------------------------------------
mkdir -p "$cache"
stamp=$(cksum < "$GEN" | cut -d' ' -f1)
IFS=, read -r -a size_arr <<< "$sizes"
IFS=, read -r -a mss_arr <<< "$msslist"
smallest=${size_arr[0]}
for s in "${size_arr[@]}"; do
    [ "$(bytes_of "$s")" -lt "$(bytes_of "$smallest")" ] && smallest=$s
done
files=()   # "label|path|summary|size"
for s in "${size_arr[@]}"; do
    for m in "${mss_arr[@]}"; do
        files+=("$s/$m/us|$cache/gen-$s-$m-us.pcap|$cache/gen-$s-$m-us.json|$s|$m|")
    done
done
if [ $ns = 1 ]; then
    files+=("$smallest/${mss_arr[0]}/ns|$cache/gen-$smallest-${mss_arr[0]}-ns.pcap|$cache/gen-$smallest-${mss_arr[0]}-ns.json|$smallest|${mss_arr[0]}|--ns")
fi

need=0
for f in "${files[@]}"; do
    IFS='|' read -r label path summ s m nsflag <<< "$f"
    if [ ! -f "$summ" ] || [ "$(cat "$summ.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -f "$path" ]; then
        need=$((need + $(bytes_of "$s") * 11 / 10))
    fi
done
if [ $need -gt 0 ]; then
    avail=$(( $(df -Pk "$cache" | awk 'NR==2 {print $4}') * 1024 ))
    margin=$((2 * 1000000000))
    if [ $((need + margin)) -gt "$avail" ]; then
        echo "run.sh: $cache: need about $((need / 1000000)) MB plus 2 GB free, only $((avail / 1000000)) MB available" >&2
        exit 2
    fi
fi
for f in "${files[@]}"; do
    IFS='|' read -r label path summ s m nsflag <<< "$f"
    if [ -f "$summ" ] && [ -f "$path" ] && [ "$(cat "$summ.stamp" 2>/dev/null)" = "$stamp" ]; then
        continue
    fi
    echo "# generating $path"
    rm -f "$summ" "$summ.stamp"
    # shellcheck disable=SC2086
    "$GEN" --size "$s" --mss "$m" $nsflag -o "$path" --summary "$summ"
    echo "$stamp" > "$summ.stamp"
done
empty="$cache/empty.pcap"
"$GEN" --size 1 -o "$empty"

# ---- runs ----------------------------------------------------------------
results="$cache/results.tsv"
: > "$results"
measure() { # label tool command...
    local label=$1 tool=$2 line
    shift 2
    line=$("$RUN" -o /dev/null -- "$@" 2>&1 >/dev/null | grep '^benchrun:' | tail -1)
    echo -e "$label\t$tool\t$line" >> "$results"
    case "$line" in *exit=0) ;; *) echo "run.sh: warning: $tool on $label: $line" >&2 ;; esac
}
tshark_on() { # size
    [ $tshark = 1 ] || return 1
    [ $tshark_all = 1 ] && return 0
    [ "$(bytes_of "$1")" -le 100000000 ]
}

date_utc=$(date -u '+%Y-%m-%d %H:%M UTC')
rev=$(git -C "$top" log -1 --format=%h 2>/dev/null || echo unknown)
if [ "$rev" != unknown ] && [ -n "$(git -C "$top" status --porcelain -- decoder analyzer 2>/dev/null)" ]; then
    rev="$rev + uncommitted changes in decoder/ or analyzer/"
fi
load_before=$(uptime)
echo "# $date_utc  $(nproc) CPUs, $(uname -r); load before: ${load_before##*load average: }"
# warm the page cache and the binaries (untimed)
for f in "${files[@]}"; do
    IFS='|' read -r label path summ s m nsflag <<< "$f"
    cat "$path" > /dev/null
    "$FCGI" -q -f json -o /dev/null "$path" || true
done
for i in $(seq 1 "$reps"); do
    echo "# repetition $i/$reps"
    for f in "${files[@]}"; do
        IFS='|' read -r label path summ s m nsflag <<< "$f"
        measure "$label" bare "$BARE" "$path"
        measure "$label" bare+buf "$BARE" --stdio-buf "$path"
        measure "$label" json "$FCGI" -q -f json -o /dev/null "$path"
        measure "$label" text "$FCGI" -q -o /dev/null "$path"
        if tshark_on "$s"; then
            measure "$label" tshark "$TSHARK" -r "$path" -d tcp.port==9000,fcgi -q -z io,stat,0
            if [ ${#WS_PLUG[@]} -gt 0 ]; then
                measure "$label" ws-fcgi "${WS_BUILTIN[@]}" -r "$path" -d tcp.port==9000,fcgi -Y fcgi -q
                measure "$label" ws-plugin "${WS_PLUG[@]}" -r "$path" -Y fastcgi -q
                measure "$label" ws-plugin-whole "${WS_PLUG[@]}" -r "$path" -Y fastcgi -q \
                    -o fastcgi.reassemble_streams:TRUE
            fi
        fi
    done
done
for i in $(seq 1 20); do
    measure startup json "$FCGI" -q -f json -o /dev/null "$empty"
    measure startup bare "$BARE" "$empty"
done
load_after=$(uptime)

echo
echo "fcgiscope benchmark, $date_utc, $(nproc) CPUs; median of $reps runs; tree at $rev"
echo "command: $cmdline"
args=()
for f in "${files[@]}"; do
    IFS='|' read -r label path summ s m nsflag <<< "$f"
    args+=("$label=$summ")
done
python3 "$here/table.py" --results "$results" ${markdown:+--markdown "$markdown"} \
    --load-before "${load_before##*load average: }" --load-after "${load_after##*load average: }" \
    --date "$date_utc" --rev "$rev" --reps "$reps" --command "$cmdline" "${args[@]}"
echo
echo "decoder alone (in-memory streams, fcgiscope-bench-decoder --seconds 1):"
"$DEC" --seconds 1 | tee "$cache/decoder.txt"
if [ -n "$markdown" ]; then
    { echo; echo "Decoder alone (\`fcgiscope-bench-decoder --seconds 1\`, same run):"; echo; echo '```'
      cat "$cache/decoder.txt"; echo '```'; } >> "$markdown"
fi
echo
echo "load before: ${load_before##*load average: }; after: ${load_after##*load average: } (1, 5, 15 min)"
if [ $clean = 1 ]; then
    rm -rf "$cache"
    echo "# removed $cache"
else
    echo "# captures kept in $cache ($(du -sh "$cache" | cut -f1)); --clean removes them"
fi
