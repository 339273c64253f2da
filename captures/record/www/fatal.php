<?php
// captures/record (failure scenarios): output is sent (headers: 200), then a fatal error; php-fpm
// sends "PHP Fatal error ..." as a FastCGI STDERR record and ends the request; the user got a
// truncated 200 page. The output buffers are flushed first (php.ini's output_buffering would
// otherwise hold the page, and PHP would answer 500 instead).
while (ob_get_level()) ob_end_flush();
header('Content-Type: text/plain');
echo "first part of the page\n";
flush();
fcgiscope_no_such_function();
echo "never sent\n";
