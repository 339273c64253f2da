<?php
// captures/record (failure scenarios): answers with ?kb= response headers of ~1 KB each (a CGI
// header block larger than nginx's fastcgi_buffer_size: 502 "upstream sent too big header").
$kb = max(0, min(32, (int)($_GET['kb'] ?? 8)));
header('Content-Type: text/plain');
for ($i = 1; $i <= $kb; $i++) header(sprintf('X-Big-%02d: %s', $i, str_repeat(chr(0x60 + $i), 1000)));
echo "sent ", $kb, " KB of headers\n";
