#!/usr/bin/perl
# captures/record: CGI (RFC 3875) perl script behind fcgiwrap; reads the POST body from stdin.
use strict; use warnings;
binmode STDIN; my $len = 0; my $buf;
while (my $n = read(STDIN, $buf, 65536)) { $len += $n; }
print "Content-Type: text/plain\r\n\r\n";
print "tag=", ($ENV{HTTP_X_REQUEST_ID} // ''), "\ncontent_length=", ($ENV{CONTENT_LENGTH} // ''), "\nread=$len\n";
