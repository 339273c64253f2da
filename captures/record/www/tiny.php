<?php
// captures/record (failure scenarios): the smallest answer (many requests, small capture).
echo "ok\n";
