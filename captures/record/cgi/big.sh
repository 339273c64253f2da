#!/bin/sh
# captures/record: ~1 MB CGI response body.
printf 'Content-Type: application/octet-stream\r\n\r\n'
line=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
i=0
while [ $i -lt 64 ]; do
  awk -v l="$line" 'BEGIN { for (j = 0; j < 256; j++) print l }'
  i=$((i + 1))
done
