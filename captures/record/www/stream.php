<?php
// captures/record: streams slowly so the recorder can kill -9 this worker mid-response.
while (ob_get_level()) ob_end_flush();
ob_implicit_flush(true);
header('Content-Type: text/plain');
@file_put_contents(getenv('FCGISCOPE_PIDFILE') ?: '/tmp/fcgiscope-stream.pid', getmypid());
for ($i = 0; $i < 50; $i++) {
    echo "chunk $i ", str_repeat('x', 1000), "\n";
    flush();
    usleep(100000);
}
echo "done\n";
