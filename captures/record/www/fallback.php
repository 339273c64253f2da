<?php
// captures/record (failure scenarios): target of nginx `error_page 404 = /fallback.php`
// (an internal redirect: a second FastCGI request for the same user request).
header('Content-Type: text/plain');
echo "fallback for ", $_SERVER['REQUEST_URI'] ?? '', "\n";
