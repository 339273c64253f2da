#!/bin/sh
# run-tshark.sh — run tshark with the fastcgi plugin from the build tree.
#
# Wireshark reads personal plugins from ~/.local/lib/wireshark/plugins/ABI/epan
# but ignores them when started by root (started_with_special_privs),
# so it runs as nobody with its own HOME holding the plugin.
#
#   run-tshark.sh PLUGIN.so ABI [tshark args...]
# Any argument that names an existing file is copied into the private run
# folder and replaced by the copy (nobody may not read the original).
# Extcap helpers are not needed to read files: an empty extcap folder keeps
# tshark from starting them (they would inherit the ASan preload and hang).
# Environment: FASTCGI_ASAN_RUNTIME=/path/libclang_rt.asan-x86_64.so when the
# plugin was built with AddressSanitizer (preloaded into tshark).
set -eu
plugin=$1; abi=$2; shift 2
run=$(mktemp -d "${TMPDIR:-/tmp}/fastcgi-tshark.XXXXXX")
trap 'rm -rf "$run"' EXIT INT TERM
chmod 755 "$run"
pdir="$run/home/.local/lib/wireshark/plugins/$abi/epan"
mkdir -p "$pdir" "$run/in" "$run/extcap"
cp "$plugin" "$pdir/"
n=0
for a in "$@"; do
  if [ -f "$a" ]; then
    n=$((n + 1)); c="$run/in/$n-$(basename "$a")"; cp "$a" "$c"; a=$c
  fi
  set -- "$@" "$a"; shift
done
asan_env=""
if [ -n "${FASTCGI_ASAN_RUNTIME:-}" ]; then
  cp "$FASTCGI_ASAN_RUNTIME" "$run/asan.so"
  asan_env="LD_PRELOAD=$run/asan.so ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1"
fi
if [ "$(id -u)" = 0 ]; then
  chown -R nobody:nogroup "$run"
  # shellcheck disable=SC2086
  setpriv --reuid=nobody --regid=nogroup --clear-groups \
    env -i PATH=/usr/bin:/bin HOME="$run/home" WIRESHARK_EXTCAP_DIR="$run/extcap" $asan_env tshark "$@"
else
  # shellcheck disable=SC2086
  env -i PATH=/usr/bin:/bin HOME="$run/home" WIRESHARK_EXTCAP_DIR="$run/extcap" $asan_env tshark "$@"
fi
