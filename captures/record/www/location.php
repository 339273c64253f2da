<?php
// captures/record (failure scenarios): a Location header and no Status: line. PHP itself turns
// header('Location: ...') into 302 (and php-fpm then writes "Status: 302 Found"); resetting the
// code to 200 makes php-fpm send the Location header alone, which the CGI rule (RFC 3875 6.2.3/4)
// and nginx turn into a 302 for the user.
header('Location: /x');
http_response_code(200);
echo "see /x\n";
