#!/usr/bin/env bash
# man_test.sh FCGISCOPE MANPAGE — the man page and --help stay in step, and
# the page renders cleanly:
#  - every long option in `fcgiscope --help` is an option item of the man
#    page, and every option item of the man page is in --help;
#  - every format that --help's -f line names is in the man page's -f item;
#  - `man --warnings -l` at 80 columns writes no warning and no line wider
#    than 80 columns, and shows every section the page must have.
# Exit 0 pass, 1 fail, 77 skip (no man-db).
set -u
export LC_ALL=C.UTF-8
bin=$1 page=$2
fail=0
bad() { echo "FAIL: $*"; fail=1; }

[ -x "$bin" ] || { echo "FAIL: no $bin"; exit 1; }
[ -f "$page" ] || { echo "FAIL: no $page"; exit 1; }

help=$("$bin" --help) || { echo "FAIL: $bin --help exited non-zero"; exit 1; }
help_longs=$(printf '%s\n' "$help" | grep -o -- '--[a-z][a-z-]*' | sort -u)
[ "$(printf '%s\n' "$help_longs" | wc -l)" -ge 30 ] || bad "--help shows fewer than 30 long options: $help_longs"

# The man source with \- as -; option items are the lines after .TP.
src=$(sed 's/\\-/-/g' "$page")
items=$(printf '%s\n' "$src" | awk 'tp { print; tp = 0 } /^\.TP/ { tp = 1 }')
man_longs=$(printf '%s\n' "$items" | grep -o -- '--[a-z][a-z-]*' | sort -u)

for o in $help_longs; do
    printf '%s\n' "$man_longs" | grep -qx -- "$o" || bad "$o is in --help but has no item in the man page"
done
for o in $man_longs; do
    printf '%s\n' "$help_longs" | grep -qx -- "$o" || bad "$o has an item in the man page but is not in --help"
done

# Short options: "-X, --long" in --help is "-X", " --long" in the man page.
while read -r s l; do
    printf '%s\n' "$items" | grep -q -- "$s \", \" $l" || bad "$s, $l: the man page's item does not pair them"
done < <(printf '%s\n' "$help" | sed -n 's/^  \(-[A-Za-z]\), \(--[a-z-]*\).*/\1 \2/p')

# The formats --help names for -f, in the man page's -f item.
fline=$(printf '%s\n' "$help" | grep -- '--format FMT')
fitem=$(printf '%s\n' "$src" | awk '/^\.BR -f ", " --format/ { on = 1 } on && /^\.TP/ { exit } on')
for f in text json csv html; do
    if printf '%s\n' "$fline" | grep -qw "$f"; then
        printf '%s\n' "$fitem" | grep -qw "$f" || bad "-f $f is in --help, not in the man page's -f item"
    fi
done
printf '%s\n' "$fitem" | grep -qw html || bad "the man page's -f item does not describe html"

# Rendering.
if ! command -v man >/dev/null; then
    echo "SKIP: man not installed (apt-get install man-db): rendering not checked"
    [ $fail = 0 ] && exit 77 || exit 1
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
MANWIDTH=80 MANPAGER=cat LC_ALL=C.UTF-8 man --warnings -l "$page" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc = 0 ] || bad "man -l exited $rc"
if [ -s "$tmp/err" ]; then bad "man --warnings -l warned:"; cat "$tmp/err"; fi
wide=0   # characters, not bytes: the page has UTF-8 hyphens and quotes
while IFS= read -r line; do [ ${#line} -le 80 ] || wide=$((wide + 1)); done <"$tmp/out"
[ "$wide" = 0 ] || bad "$wide rendered lines are wider than 80 columns"
for sec in NAME SYNOPSIS DESCRIPTION OPTIONS OUTPUT "EXIT STATUS" ENVIRONMENT FILES EXAMPLES "SEE ALSO"; do
    grep -qx "$sec" "$tmp/out" || bad "section $sec missing from the rendered page"
done
# Examples for the three uses.
for ex in 'fcgiscope --fail-on warning' 'fcgiscope -i lo -q --metrics' 'tshark -r capture.pcap' 'fcgiscope capture.pcapng'; do
    grep -qF -- "$ex" "$tmp/out" || bad "example missing: $ex"
done
lines=$(wc -l <"$tmp/out")
echo "man page: $(printf '%s\n' "$help_longs" | wc -w) long options in --help, $(printf '%s\n' "$man_longs" | wc -w) option items, $lines lines at 80 columns"
[ $fail = 0 ] && echo PASS
exit $fail
