#!/usr/bin/env bash
# completion_test.sh FCGISCOPE COMPLETION_FILE — the bash completion, driven
# the way bash drives it (COMP_WORDS/COMP_CWORD, then the function
# `complete -p fcgiscope` names), checked against `fcgiscope --help`:
# every long option, the formats, severities, WHEN values, interfaces for
# -i (this machine's, from /sys/class/net), capture files for operands and
# none after -i IFACE (that is the filter). Exit 0 pass, 1 fail, 77 skip
# (no bash-completion package).
set -u
bin=$1 comp=$2
bc=/usr/share/bash-completion/bash_completion
[ -r "$bc" ] || { echo "SKIP: $bc missing (apt-get install bash-completion)"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/dir/sub"
touch "$tmp/dir/a.pcap" "$tmp/dir/b.pcapng" "$tmp/dir/notes.txt"

bash --norc --noprofile -s "$bin" "$comp" "$bc" "$tmp/dir" <<'EOS'
bin=$1 comp=$2 bc=$3 dir=$4
fail=0
bad() { echo "FAIL: $*"; fail=1; }
. "$bc"
. "$comp"
fn=$(complete -p fcgiscope 2>/dev/null | sed -n 's/.*-F \([^ ]*\) fcgiscope$/\1/p')
[ -n "$fn" ] || { echo "FAIL: no completion registered for fcgiscope"; exit 1; }

# complete WORD... : the last word is the one being completed
complete_words() {
    COMP_WORDS=(fcgiscope "$@")
    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    COMP_LINE="${COMP_WORDS[*]}"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    "$fn" fcgiscope "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf '%s\n' "${COMPREPLY[@]}" | sort
}
expect() { # expect "WORDS" "EXPECTED (sorted, one per line)"
    local got; got=$(eval "complete_words $1")
    [ "$got" = "$2" ] || bad "fcgiscope $1<TAB>: got [$(echo $got)], want [$(echo $2)]"
}

# every long option of --help is offered after --
offered=$(complete_words --)
for o in $("$bin" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    printf '%s\n' "$offered" | grep -qx -- "$o" || bad "--<TAB> does not offer $o"
done
for o in $("$bin" --help | sed -n 's/^  \(-[A-Za-z]\), .*/\1/p'); do
    complete_words - | grep -qx -- "$o" || bad "-<TAB> does not offer $o"
done

expect "-f ''" "$(printf '%s\n' csv html json text)"
expect "--format j" "json"
expect "--fail-on ''" "$(printf '%s\n' error never note warning)"
expect "--fail-on w" "warning"
expect "--color ''" "$(printf '%s\n' always auto never)"
expect "--progress n" "never"
expect "--latency ''" "$(printf '%s\n' fcgi from-syn)"
expect "--slowest ''" ""

ifs=$(complete_words -i '')
printf '%s\n' "$ifs" | grep -qx lo || bad "-i <TAB> does not offer lo: $ifs"
for i in $(ls /sys/class/net); do
    printf '%s\n' "$ifs" | grep -qx "$i" || bad "-i <TAB> does not offer $i"
done
expect "--interface l" "lo"

# operands: capture files and folders, not other files
got=$(complete_words "$dir/")
for f in a.pcap b.pcapng sub; do
    printf '%s\n' "$got" | grep -qx "$dir/$f" || bad "$dir/<TAB> does not offer $f: $got"
done
printf '%s\n' "$got" | grep -q notes.txt && bad "$dir/<TAB> offers notes.txt"
# -o: any file
complete_words -o "$dir/n" | grep -qx "$dir/notes.txt" || bad "-o $dir/n<TAB> does not offer notes.txt"
# after -i IFACE: a BPF filter, no files
got=$(complete_words -i lo "$dir/")
[ -z "$got" ] || bad "-i lo $dir/<TAB> offers files: $got"

echo "completion: $(printf '%s\n' "$offered" | wc -l) long options offered, $(printf '%s\n' "$ifs" | wc -l) interfaces"
[ $fail = 0 ] && echo PASS
exit $fail
EOS
