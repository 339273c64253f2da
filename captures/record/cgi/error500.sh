#!/bin/sh
# captures/record: CGI script answering 500 through the Status header.
printf 'Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\ndeliberate 500\n'
