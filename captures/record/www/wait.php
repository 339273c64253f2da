<?php
// captures/record (failure scenarios): sleeps ?ms= milliseconds (up to 10 s), then answers 200;
// used where the frontend gives up first (fastcgi_read_timeout, a client hanging up) or php-fpm
// kills the worker (request_terminate_timeout).
$ms = max(0, min(10000, (int)($_GET['ms'] ?? 1000)));
usleep($ms * 1000);
header('Content-Type: text/plain');
echo "waited ", $ms, " ms\n";
