#!/bin/sh
# captures/record: sleeps ?ms= milliseconds (query "ms=N") before answering.
ms=$(printf '%s' "$QUERY_STRING" | sed -n 's/.*ms=\([0-9]*\).*/\1/p')
[ -n "$ms" ] || ms=100
sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
printf 'Content-Type: text/plain\r\n\r\nslept %s ms\n' "$ms"
