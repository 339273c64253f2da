<?php
// captures/record: writes to stderr; error_log() becomes a FastCGI STDERR record in php-fpm.
header('Content-Type: text/plain');
error_log('fcgiscope capture: message via error_log() for ' . ($_SERVER['HTTP_X_REQUEST_ID'] ?? ''));
file_put_contents('php://stderr', "fcgiscope capture: message via php://stderr\n");
echo "wrote to stderr\n";
