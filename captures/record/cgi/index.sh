#!/bin/sh
# captures/record: CGI (RFC 3875) shell script behind fcgiwrap; echoes the request.
printf 'Content-Type: text/plain\r\n\r\n'
printf 'method=%s\nuri=%s\nquery=%s\ntag=%s\n' "$REQUEST_METHOD" "$REQUEST_URI" "$QUERY_STRING" "$HTTP_X_REQUEST_ID"
env | grep -c '^HTTP_' | sed 's/^/http_params=/'
