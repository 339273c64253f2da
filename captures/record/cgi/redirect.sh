#!/bin/sh
# captures/record: CGI script answering 302 with a Location header.
printf 'Status: 302 Found\r\nLocation: /index.sh?from=redirect\r\nContent-Type: text/plain\r\n\r\nmoved\n'
