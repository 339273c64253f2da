#!/usr/bin/env bash
# plugin-screenshots.sh — the README screenshots of the fastcgi plugin in Wireshark's GUI, made under Xvfb.
#
#   scripts/plugin-screenshots.sh [--plugin SO] [--capture FILE] [--frame N] [--out DIR]
#     --plugin SO     default build/dissector/fastcgi.so
#     --capture FILE  default captures/real/apache-phpfpm.pcap (FastCGI on port 9000)
#     --frame N       the packet selected in the main window (default 236: the
#                     END_REQUEST of /error500.php, with its "Whole request")
#     --out DIR       default dissector/screenshots
#
# Needs (Debian 12): wireshark-qt xvfb xdotool imagemagick openbox
# fonts-dejavu-core (scripts/deps/screenshots.txt). Wireshark ignores
# personal plugins when started by root, so it runs as nobody with a private
# HOME holding the plugin, on a private X display. Every process this script
# starts is stopped by its PID at the end.
#
# Writes: main.png (packet list filtered on fastcgi, the selected frame's
# tree expanded), srt.png (Statistics > Service Response Time > FastCGI,
# opened with -z fastcgi,srt), objects.png (File > Export Objects > FastCGI),
# pieces.png (the main window, stream records a segment at a time: the first
# frame that carries a piece of a STDOUT record selected).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
plugin="$top/build/dissector/fastcgi.so"
capture="$top/captures/real/apache-phpfpm.pcap"
frame=236
out="$top/dissector/screenshots"
while [ $# -gt 0 ]; do
    case "$1" in
        --plugin) plugin=$2; shift 2 ;;
        --capture) capture=$2; shift 2 ;;
        --frame) frame=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "plugin-screenshots.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
for t in wireshark Xvfb xdotool openbox; do
    command -v "$t" >/dev/null || { echo "plugin-screenshots.sh: $t not installed (scripts/deps/screenshots.txt)" >&2; exit 2; }
done
[ -x /usr/bin/import ] && [ -x /usr/bin/convert ] || { echo "plugin-screenshots.sh: ImageMagick's /usr/bin/import not installed" >&2; exit 2; }
[ -f "$plugin" ] || { echo "plugin-screenshots.sh: $plugin: not built" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)

abi=$(wireshark --version 2>/dev/null | sed -n '1s/.* \([0-9]*\.[0-9]*\)\.[0-9]*.*/\1/p')
run=$(mktemp -d "${TMPDIR:-/tmp}/fastcgi-shots.XXXXXX")
chmod 755 "$run"
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$run"
}
trap cleanup EXIT INT TERM
mkdir -p "$run/home/.local/lib/wireshark/plugins/$abi/epan" "$run/home/.config/wireshark" "$run/extcap"
cp "$plugin" "$run/home/.local/lib/wireshark/plugins/$abi/epan/fastcgi.so"
cp "$capture" "$run/capture.pcap"
# no welcome dialogs, a fixed window size, Decode As port 9000 is the default
printf 'gui.geometry_main_width: 1600\ngui.geometry_main_height: 1000\ngui.geometry_main_maximized: TRUE\ngui.geometry_main_upper_pane: 330\n' \
    > "$run/home/.config/wireshark/recent_common"
printf 'gui.byte_view_show: FALSE\n' > "$run/home/.config/wireshark/recent"
asuser=()
if [ "$(id -u)" = 0 ]; then
    chown -R nobody:nogroup "$run"
    asuser=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi

# A free display number: no lock file, no socket.
d=90
while [ -e "/tmp/.X$d-lock" ] || [ -e "/tmp/.X11-unix/X$d" ]; do d=$((d + 1)); done
Xvfb ":$d" -screen 0 1600x1000x24 -nolisten tcp -ac > "$run/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$d" ] && break; sleep 0.1; done
export DISPLAY=":$d"
openbox > "$run/openbox.log" 2>&1 &
pids+=($!)
sleep 1

ws() { # wireshark args...: start it as nobody, wait for its main window
    "${asuser[@]}" env -i PATH=/usr/bin:/bin HOME="$run/home" DISPLAY="$DISPLAY" \
        WIRESHARK_EXTCAP_DIR="$run/extcap" QT_QPA_PLATFORM=xcb \
        wireshark "$@" > "$run/wireshark.log" 2>&1 &
    pids+=($!)
    ws_pid=$!
    for _ in $(seq 300); do
        xdotool search --name "apache|capture|Wireshark" >/dev/null 2>&1 && break
        sleep 0.2
    done
    sleep 4   # the capture is read and dissected twice
}
shot() { # file: the whole screen, as a 256-colour PNG (a third of the size)
    /usr/bin/import -window root "$run/shot.png"
    /usr/bin/convert "$run/shot.png" -colors 256 "PNG8:$1"
    echo "wrote $1"
}
stop_ws() {
    kill "$ws_pid" 2>/dev/null || true
    wait "$ws_pid" 2>/dev/null || true
}

# 1. the main window: packets filtered on fastcgi, the frame's FastCGI tree
# expanded (the details pane: all collapsed, the last top-level item -
# FastCGI - selected and its subtrees expanded)
ws -r "$run/capture.pcap" -Y fastcgi -g "$frame"
xdotool mousemove 300 560 click 1
sleep 1
xdotool key --clearmodifiers --delay 400 ctrl+Left End shift+Right
sleep 1
shot "$out/main.png"
stop_ws

# 2. Statistics > Service Response Time > FastCGI, opened from the command line
ws -r "$run/capture.pcap" -z fastcgi,srt
sleep 2
shot "$out/srt.png"
stop_ws

# 3. File > Export Objects > FastCGI, through the menu: from the File menu's
# top, Up wraps to Quit, then Print, then Export Objects; its submenu lists
# the protocols by name, FastCGI second (after DICOM).
ws -r "$run/capture.pcap"
xdotool key --clearmodifiers alt+f
sleep 1
xdotool key --clearmodifiers Up Up Up Right
sleep 1
xdotool key --clearmodifiers Down Return
sleep 3
shot "$out/objects.png"
stop_ws

# 4. stream records a segment at a time: the first frame with a piece
pieces=()   # (the default: reassemble_streams off)
pframe=$("${asuser[@]}" env -i PATH=/usr/bin:/bin HOME="$run/home" tshark -n -r "$run/capture.pcap" "${pieces[@]}" \
    -Y fastcgi.piece -T fields -e frame.number 2>/dev/null | head -1)
if [ -n "$pframe" ]; then
    ws -r "$run/capture.pcap" "${pieces[@]}" -Y fastcgi -g "$pframe"
    xdotool mousemove 300 560 click 1
    sleep 1
    xdotool key --clearmodifiers --delay 400 ctrl+Left End shift+Right
    sleep 1
    shot "$out/pieces.png"
    stop_ws
else
    echo "plugin-screenshots.sh: no frame with a piece in $capture: no pieces.png" >&2
fi
