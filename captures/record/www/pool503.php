<?php
// captures/record (failure scenarios): answers 503 in the php-fpm pool whose env FCGISCOPE_POOL is
// "a", 200 elsewhere (nginx fastcgi_next_upstream http_503 retries on the next server).
$pool = getenv('FCGISCOPE_POOL') ?: '?';
header('Content-Type: text/plain');
if ($pool === 'a') http_response_code(503);
echo "pool ", $pool, "\n";
