#!/usr/bin/env bash
# quickstart.sh — install what fcgiscope needs, build it, and run it.
#
#   scripts/quickstart.sh demo   install build deps, build, analyze the bundled capture
#   scripts/quickstart.sh test   install build+test deps, build, run the suite,
#                                then again under ASan+UBSan, with the fuzzers
#   scripts/quickstart.sh deps [test]   only install
#   scripts/quickstart.sh build         only configure and build (./build)
#
# Package installs need root (apt-get); run as root or with sudo available.
# Environment: FUZZ_SECONDS (default 60) bounds each fuzz target in `test`.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

log() { printf '== %s\n' "$*" >&2; }

install_deps() {
  local lists=("$@") pkgs=() missing=() p
  for l in "${lists[@]}"; do
    while read -r p; do pkgs+=("$p"); done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "scripts/deps/$l.txt")
  done
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "quickstart: need root to install: ${missing[*]}" >&2; exit 2; }
    sudo=(sudo)
  fi
  log "installing: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() { # build DIR [cmake args...]
  local dir=$1; shift
  log "configure $dir"
  cmake -S . -B "$dir" -Wno-dev "$@" >/dev/null
  log "build $dir"
  cmake --build "$dir" -j"$jobs" -- --no-print-directory >/dev/null
}

demo() {
  install_deps build
  build build
  if [ -x build/analyzer/fcgiscope ] && [ -f captures/demo.pcapng ]; then
    build/analyzer/fcgiscope captures/demo.pcapng
  else
    build/decoder/fsd_example
  fi
}

run_tests() {
  install_deps build test
  build build
  log "test suite (build)"
  ctest --test-dir build --output-on-failure -j"$jobs"
  build build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
    -DFCGISCOPE_SANITIZE=ON -DFCGISCOPE_FUZZ=ON -DFCGISCOPE_FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
  log "test suite under ASan+UBSan, with fuzzers (build-asan)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs"
}

case "${1:-}" in
  demo) demo ;;
  test) run_tests ;;
  deps) shift; install_deps build "$@" ;;
  build) install_deps build; build build ;;
  *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
