#!/usr/bin/env bash
# deb_test.sh BUILD_DIR SOURCE_DIR — the Debian packages, end to end:
#  1. cpack -G DEB in the build folder (into a temporary folder): exactly
#     fcgiscope_<version>_<arch>.deb and, when the plugin is built,
#     wireshark-fastcgi_<version>_<arch>.deb;
#  2. their file lists (exactly), their Depends (every NEEDED library of
#     the binary and the plugin is covered by a package in Depends), lintian
#     (no error, no warning; the rest is printed);
#  3. install both with apt on this machine, run /usr/bin/fcgiscope on a
#     capture (same output as the build tree's), load the system plugin in
#     tshark as nobody with an empty HOME (no personal plugin), render the
#     installed man page by name, load the installed completion; then
#     dpkg --purge and check that nothing is left.
#
# Step 3 runs in a private mount namespace (unshare) whose /usr, /etc and /var
# are overlays on the real ones with their writes in a temporary folder: the
# real dpkg and apt install the real packages over this machine's system,
# but no other process sees the files, and they vanish when the test ends
# (other tests' tshark would otherwise load the system plugin). The purge
# runs from a trap, also on failure. A lock (flock) keeps two runs of this
# test apart; the test is also RUN_SERIAL.
#
# Exit 0 pass, 1 fail, 77 skip (not root, no overlay/unshare, tools missing).
set -u
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd)
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (dpkg/apt install, a private mount namespace)"
for t in cpack dpkg-deb dpkg-shlibdeps lintian apt-get unshare runuser flock man readelf; do
    command -v $t >/dev/null || skip "$t not installed (scripts/deps/test.txt)"
done
[ -r /usr/share/bash-completion/bash_completion ] || skip "bash-completion not installed"

exec 9>/run/lock/fcgiscope-deb-test.lock
flock -w 900 9 || { echo "FAIL: another deb_test held /run/lock/fcgiscope-deb-test.lock for 15 min"; exit 1; }

tmp=$(mktemp -d /tmp/fcgiscope-deb-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# Can we make the private overlays at all?
mkdir -p "$tmp/probe/u" "$tmp/probe/w"
unshare --mount --propagation private sh -c \
    "mount -t overlay overlay -o lowerdir=/usr,upperdir=$tmp/probe/u,workdir=$tmp/probe/w /usr" 2>"$tmp/probe.err" \
    || skip "no private overlay of /usr (unshare --mount, overlayfs): $(cat "$tmp/probe.err")"

# ---- 1. build the packages ----
version=$("$build/analyzer/fcgiscope" --version | sed -n '1s/^fcgiscope //p')
arch=$(dpkg --print-architecture)
[ -n "$version" ] || { echo "FAIL: no version from fcgiscope --version"; exit 1; }
plugin=no
[ -e "$build/dissector/fastcgi.so" ] && plugin=yes
(cd "$build" && cpack -G DEB -B "$tmp/pkg") >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log"; echo "FAIL: cpack"; exit 1; }
debs=$(cd "$tmp/pkg" && ls *.deb | sort)
want="fcgiscope_${version}_${arch}.deb"
[ $plugin = yes ] && want=$(printf '%s\nwireshark-fastcgi_%s_%s.deb\n' "$want" "$version" "$arch" | sort)
[ "$debs" = "$want" ] || { echo "FAIL: cpack made [$(echo $debs)], want [$(echo $want)]"; exit 1; }
echo "packages: $(echo $debs)"
main="$tmp/pkg/fcgiscope_${version}_${arch}.deb"
ws="$tmp/pkg/wireshark-fastcgi_${version}_${arch}.deb"

# ---- 2. contents, Depends, lintian ----
plugindir=$(pkg-config --variable=plugindir wireshark 2>/dev/null)/epan
files() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | sort; }
want_main=$(sort <<EOW
/usr/bin/fcgiscope
/usr/share/bash-completion/completions/fcgiscope
/usr/share/doc/fcgiscope/ANOMALIES.md
/usr/share/doc/fcgiscope/FLEET.md
/usr/share/doc/fcgiscope/README.md
/usr/share/doc/fcgiscope/fleet/clickhouse.sql
/usr/share/doc/fcgiscope/analyzer.md
/usr/share/doc/fcgiscope/changelog.gz
/usr/share/doc/fcgiscope/copyright
/usr/share/man/man1/fcgiscope.1.gz
EOW
)
got=$(files "$main")
[ "$got" = "$want_main" ] || bad "fcgiscope's files: $(diff <(echo "$want_main") <(echo "$got") | grep '^[<>]' | tr '\n' ' ')"
if [ $plugin = yes ]; then
    want_ws=$(sort <<EOW
$plugindir/fastcgi.so
/usr/share/doc/wireshark-fastcgi/README.md
/usr/share/doc/wireshark-fastcgi/changelog.gz
/usr/share/doc/wireshark-fastcgi/copyright
EOW
)
    got=$(files "$ws")
    [ "$got" = "$want_ws" ] || bad "wireshark-fastcgi's files: $(diff <(echo "$want_ws") <(echo "$got") | grep '^[<>]' | tr '\n' ' ')"
fi

# Depends: the package of every NEEDED library (found with dpkg -S, not
# with dpkg-shlibdeps) must be named; the analyzer must not need Wireshark.
check_depends() { # DEB FILE_IN_DEB
    local deb=$1 f=$2 dep lib path pkg
    dep=$(dpkg-deb -f "$deb" Depends)
    echo "$(dpkg-deb -f "$deb" Package) Depends: $dep"
    mkdir -p "$tmp/x"; dpkg-deb -x "$deb" "$tmp/x"
    for lib in $(readelf -d "$tmp/x$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|64bit|AArch64/ { print $NF; exit }')
        [ -n "$path" ] || path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
        pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
        [ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)
        [ -n "$pkg" ] || { bad "$f needs $lib: no package owns it"; continue; }
        printf '%s\n' "$dep" | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qx "$pkg" \
            || bad "$f needs $lib ($pkg), not in Depends: $dep"
    done
}
check_depends "$main" /usr/bin/fcgiscope
dpkg-deb -f "$main" Depends | grep -q wireshark && bad "fcgiscope depends on Wireshark: $(dpkg-deb -f "$main" Depends)"
if [ $plugin = yes ]; then
    check_depends "$ws" "$plugindir/fastcgi.so"
    dpkg-deb -f "$ws" Depends | grep -q 'libwireshark' || bad "wireshark-fastcgi does not depend on libwireshark"
fi

# lintian, as nobody (it warns when run as root) on copies nobody can read
mkdir -p "$tmp/lint"; cp "$tmp/pkg"/*.deb "$tmp/lint/"; chmod 755 "$tmp" "$tmp/lint"; chmod 644 "$tmp/lint"/*.deb
(cd "$tmp/lint" && runuser -u nobody -- env HOME="$tmp/lint" lintian --pedantic --display-info *.deb) >"$tmp/lintian.out" 2>&1
echo "lintian --pedantic --display-info:"; sed 's/^/  /' "$tmp/lintian.out"
grep -qE '^(E|W):' "$tmp/lintian.out" && bad "lintian reports errors or warnings"
grep -q '^\(running\|lintian:\)' "$tmp/lintian.out" && grep -qiE 'error|cannot|failed' "$tmp/lintian.out" && bad "lintian did not run cleanly"
# hardened (FCGISCOPE_HARDEN, on by default) and stripped as dh_strip does
grep -E 'hardening-|binary-has-unneeded-section' "$tmp/lintian.out" && bad "lintian: not hardened or not fully stripped (above)"
mkdir -p "$tmp/x"
for d in "$tmp/pkg"/*.deb; do dpkg-deb -x "$d" "$tmp/x"; done
for f in "$tmp/x/usr/bin/fcgiscope" $( [ $plugin = yes ] && echo "$tmp/x$plugindir/fastcgi.so"); do
    readelf -d "$f" | grep -q 'BIND_NOW' || bad "$(basename "$f") not linked with -z now"
    readelf -lW "$f" | grep -q 'GNU_RELRO' || bad "$(basename "$f") has no RELRO segment"
    readelf -SW "$f" | grep -qE ' \.comment ' && bad "$(basename "$f") keeps .comment"
done
readelf -sW --dyn-syms "$tmp/x/usr/bin/fcgiscope" | grep -qE '__(memcpy|snprintf|fprintf|sprintf|memset|memmove|vsnprintf)_chk' \
    || bad "fcgiscope has no fortified calls (_FORTIFY_SOURCE)"
readelf -sW --dyn-syms "$tmp/x/usr/bin/fcgiscope" | grep -q '__stack_chk_fail' || bad "fcgiscope has no stack protector"

# ---- 3. install, use, purge: in a private mount namespace ----
cap="$src/captures/demo.pcapng"
mkdir -p "$tmp/run/home"; cp "$cap" "$tmp/run/"; chown -R nobody:nogroup "$tmp/run"; chmod 755 "$tmp/run"
"$build/analyzer/fcgiscope" -q -f json "$tmp/run/demo.pcapng" >"$tmp/expect.json" 2>&1   # same path: it is in the output
for d in usr etc var; do mkdir -p "$tmp/ov/$d/u" "$tmp/ov/$d/w"; done

cat >"$tmp/inside.sh" <<'EOS'
set -u
tmp=$1 plugin=$2 plugindir=$3 version=$4 wsver=$5
fail=0
bad() { echo "FAIL: $*"; fail=1; }
for d in usr etc var; do
    mount -t overlay overlay -o lowerdir=/$d,upperdir=$tmp/ov/$d/u,workdir=$tmp/ov/$d/w /$d || exit 3
done
pkgs="fcgiscope"; [ $plugin = yes ] && pkgs="wireshark-fastcgi fcgiscope"
for p in $pkgs; do
    dpkg-query -W -f '${Status}' $p 2>/dev/null | grep -q 'install ok installed' && { echo "FAIL: $p is already installed on this machine"; exit 1; }
done
purge() { DEBIAN_FRONTEND=noninteractive dpkg --purge $pkgs >"$tmp/purge.log" 2>&1; }
trap purge EXIT

debs=("$tmp"/pkg/fcgiscope_*.deb); [ $plugin = yes ] && debs+=("$tmp"/pkg/wireshark-fastcgi_*.deb)
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${debs[@]}" >"$tmp/apt.log" 2>&1; then
    cat "$tmp/apt.log"; echo "FAIL: apt-get install ./*.deb"; exit 1
fi
echo "installed with apt-get: $(dpkg-query -W -f '${Package} ${Version} ${Status}\n' $pkgs | tr '\n' ';')"

# the analyzer
[ "$(command -v fcgiscope)" = /usr/bin/fcgiscope ] || bad "fcgiscope on PATH is $(command -v fcgiscope)"
/usr/bin/fcgiscope -q -f json "$tmp/run/demo.pcapng" >"$tmp/got.json" 2>&1 || bad "/usr/bin/fcgiscope exited $?"
cmp -s "$tmp/got.json" "$tmp/expect.json" || bad "/usr/bin/fcgiscope's JSON differs from the build tree's"
n=$(grep -c '"type":"request"' "$tmp/got.json")
echo "/usr/bin/fcgiscope: $n requests in demo.pcapng"
[ "$n" -gt 0 ] || bad "no requests from /usr/bin/fcgiscope"
/usr/bin/fcgiscope --version >"$tmp/version" || bad "--version exited $?"
sed 's/^/  /' "$tmp/version"
head -1 "$tmp/version" | grep -qx "fcgiscope $version" || bad "--version's first line"
grep -q '^capture: libpcap version ' "$tmp/version" || bad "--version: no libpcap version"
if [ $plugin = yes ]; then
    grep -qx "Wireshark plugin: built for Wireshark $wsver" "$tmp/version" || bad "--version: not 'built for Wireshark $wsver'"
fi

# the plugin: tshark as nobody, empty HOME, no WIRESHARK_PLUGIN_DIR
if [ $plugin = yes ]; then
    [ -z "$(ls -A "$tmp/run/home")" ] || bad "the HOME given to tshark is not empty"
    ts() { runuser -u nobody -- env -i PATH=/usr/bin:/bin HOME="$tmp/run/home" tshark "$@"; }
    ts -G plugins >"$tmp/plugins" 2>&1
    grep -q "fastcgi.so.*$plugindir/fastcgi.so" "$tmp/plugins" || { cat "$tmp/plugins"; bad "tshark -G plugins does not list $plugindir/fastcgi.so"; }
    frames=$(ts -r "$tmp/run/demo.pcapng" -Y fastcgi -T fields -e frame.number 2>"$tmp/ts.err" | wc -l)
    reqs=$(ts -r "$tmp/run/demo.pcapng" -Y 'fastcgi.time' -T fields -e frame.number 2>>"$tmp/ts.err" | wc -l)
    echo "tshark (nobody, empty HOME): $frames frames with fastcgi, $reqs with fastcgi.time"
    [ -s "$tmp/ts.err" ] && { bad "tshark wrote to stderr:"; cat "$tmp/ts.err"; }
    [ "$frames" -gt 0 ] || bad "tshark shows no fastcgi frames"
    [ "$reqs" -gt 0 ] || bad "tshark shows no fastcgi.time"
    [ -z "$(ls -A "$tmp/run/home")" ] || echo "note: tshark left $(ls -A "$tmp/run/home") in HOME"
fi

# the man page, by name, from the installed file
[ "$(man -w fcgiscope 2>&1)" = /usr/share/man/man1/fcgiscope.1.gz ] || bad "man -w fcgiscope: $(man -w fcgiscope 2>&1)"
MANWIDTH=80 MANPAGER=cat man --warnings fcgiscope >"$tmp/man.out" 2>"$tmp/man.err" || bad "man fcgiscope exited $?"
[ -s "$tmp/man.err" ] && { bad "man --warnings fcgiscope warned:"; cat "$tmp/man.err"; }
head -1 "$tmp/man.out" | grep -q '^FCGISCOPE(1)' || bad "man fcgiscope: $(head -1 "$tmp/man.out")"
echo "man fcgiscope: $(wc -l <"$tmp/man.out") lines"

# the completion, loaded on demand the way bash-completion does
c=$(bash --norc -c '. /usr/share/bash-completion/bash_completion; __load_completion fcgiscope; complete -p fcgiscope' 2>&1)
[ "$c" = "complete -F _fcgiscope fcgiscope" ] || bad "installed completion not loaded on demand: $c"

# purge and look for leftovers
trap - EXIT
purge || { cat "$tmp/purge.log"; bad "dpkg --purge"; }
for p in $pkgs; do
    s=$(dpkg-query -W -f '${Status}' $p 2>/dev/null)
    case $s in ""|"unknown ok not-installed"|"purge ok not-installed") ;; *) bad "$p after purge: $s" ;; esac
done
left=$(cd "$tmp/ov" && find usr/u etc/u \( -type f -o -type l \) | sed 's|^\(usr\|etc\)/u|/\1|')
[ -z "$left" ] || bad "left behind after purge: $left"
for f in /usr/bin/fcgiscope /usr/share/man/man1/fcgiscope.1.gz /usr/share/doc/fcgiscope \
         /usr/share/bash-completion/completions/fcgiscope /usr/share/doc/wireshark-fastcgi "$plugindir/fastcgi.so"; do
    [ -e "$f" ] && bad "$f still exists after purge"
done
echo "purged: nothing left in /usr or /etc"
exit $fail
EOS

wsver=$(pkg-config --modversion wireshark 2>/dev/null)
unshare --mount --propagation private bash "$tmp/inside.sh" "$tmp" $plugin "$plugindir" "$version" "$wsver"
rc=$?
[ $rc = 3 ] && skip "could not mount the overlays of /usr, /etc, /var"
[ $rc = 0 ] || fail=1
# The namespace is gone: this machine never saw the packages.
[ -e /usr/bin/fcgiscope ] && [ ! -e "$tmp/ov/usr/u/bin/fcgiscope" ] && echo "note: /usr/bin/fcgiscope exists outside the test (installed by someone else)"
[ $fail = 0 ] && echo PASS
exit $fail
