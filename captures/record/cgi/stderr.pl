#!/usr/bin/perl
# captures/record: CGI script that writes to stderr (fcgiwrap forwards it as FastCGI STDERR).
$| = 1;
print STDERR "fcgiscope capture: message on stderr for ", ($ENV{HTTP_X_REQUEST_ID} // ''), "\n";
print "Content-Type: text/plain\r\n\r\nwrote to stderr\n";
