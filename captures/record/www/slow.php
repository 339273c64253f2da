<?php
// captures/record: sleeps ?ms= milliseconds before answering (tens to hundreds of ms).
$ms = max(0, min(2000, (int)($_GET['ms'] ?? 100)));
usleep($ms * 1000);
header('Content-Type: text/plain');
echo "slept ", $ms, " ms\n";
