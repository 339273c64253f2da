<?php
// captures/record (failure scenarios): answers WITHOUT reading the request body (php://input is
// never opened); with an empty CONTENT_LENGTH (chunked upload, fastcgi_request_buffering off)
// PHP would read nothing anyway.
header('Content-Type: text/plain');
echo "content_length=[", $_SERVER['CONTENT_LENGTH'] ?? '', "] not reading the body\n";
