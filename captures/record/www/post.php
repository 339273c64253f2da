<?php
// captures/record: POST target; reports the body it read from FastCGI STDIN (RFC 3875 4.2).
header('Content-Type: text/plain');
$body = file_get_contents('php://input');
echo "tag=", $_SERVER['HTTP_X_REQUEST_ID'] ?? '', "\n";
echo "content_length=", $_SERVER['CONTENT_LENGTH'] ?? '', "\n";
echo "read=", strlen($body), " md5=", md5($body), "\n";
