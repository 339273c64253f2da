<?php
// captures/record: answers HTTP 500 through the CGI Status header.
http_response_code(500);
header('Content-Type: text/plain');
echo "deliberate 500\n";
