<?php
// captures/record: ~1 MB response body (STDOUT spans many records).
header('Content-Type: application/octet-stream');
$line = str_repeat('0123456789abcdef', 63) . "\n";   // 1009 bytes
for ($i = 0; $i < 1040; $i++) echo $line;            // 1049360 bytes
