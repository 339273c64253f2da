<?php
// captures/record: answers HTTP 302 with a Location header.
header('Location: /index.php?from=redirect', true, 302);
echo "moved\n";
