<?php
// captures/record: plain GET/HEAD target; echoes what arrived (FastCGI params, CGI/1.1 RFC 3875).
header('Content-Type: text/plain');
$hdr = 0;
foreach ($_SERVER as $k => $v) { if (strncmp($k, 'HTTP_', 5) === 0) $hdr += strlen($k) + strlen((string)$v); }
echo "method=", $_SERVER['REQUEST_METHOD'], "\n";
echo "uri=", $_SERVER['REQUEST_URI'], "\n";
echo "query=", $_SERVER['QUERY_STRING'] ?? '', "\n";
echo "tag=", $_SERVER['HTTP_X_REQUEST_ID'] ?? '', "\n";
echo "http_param_bytes=", $hdr, "\n";
