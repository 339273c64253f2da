# live_env.sh — nginx + php-fpm on free 127.0.0.1 high ports for fcgiscope's live tests (sourced).
#
# Used by the live capture tests on loopback (analyzer/README.md "Live capture").
# Defines $tmp, $fpm_port, $http_port, $pids (every process started, stopped
# by PID on exit) and start_stack [MAX_CHILDREN]. Exit 77 (skip) when not root
# or a program is missing, except under CI=true, where that is a failure.
# Set before sourcing (all optional; the relay test uses them):
#   LIVE_ENV_ANY_USER=1  no root needed (nothing captured on lo)
#   FPM_SOCKET=NAME      php-fpm listens on the Unix socket $tmp/NAME, not a port
#   FASTCGI_PASS=ADDR    nginx's fastcgi_pass (default: php-fpm's address);
#                        "unix:@TMP@/x.sock" names a file in $tmp
#   NGINX_HTTP_EXTRA=... more directives in nginx's http block (relative
#                        paths are in $tmp, nginx's prefix)
#   FPM_POOL_EXTRA=...   more lines in php-fpm's pool section

skip() {
  if [ "${CI:-}" = true ]; then echo "FAIL (CI): $*"; echo "0 passed, 1 failed"; exit 1; fi
  echo "SKIP: $*"; exit 77
}
[ "$(id -u)" = 0 ] || [ "${LIVE_ENV_ANY_USER:-}" = 1 ] || skip "needs root to capture on lo"
fpm=$(ls /usr/sbin/php-fpm* 2>/dev/null | head -n1)
[ -n "$fpm" ] || skip "php-fpm is not installed (apt-get install php-fpm)"
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || skip "nginx is not installed"
nginx=$(command -v nginx || echo /usr/sbin/nginx)
command -v curl >/dev/null || skip "curl is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"
id www-data >/dev/null 2>&1 || skip "no www-data user"


. "$(dirname "${BASH_SOURCE[0]}")/private_run.sh"

start_stack() {
local children=${1:-2}
private_run fcgiscope-live

# a free port for the stack (port_free: private_run.sh)
pick_port() {
  local p
  for _ in $(seq 50); do
    p=$(( 20000 + RANDOM % 30000 ))
    if port_free "$p" && [ "$p" != "${fpm_port:-}" ]; then echo "$p"; return 0; fi
  done
  return 1
}
fpm_port=$(pick_port) || { echo "FAIL: no free port"; exit 1; }
http_port=$(pick_port) || { echo "FAIL: no free port"; exit 1; }
fpm_listen=127.0.0.1:$fpm_port
[ -n "${FPM_SOCKET:-}" ] && fpm_listen=$tmp/$FPM_SOCKET
fastcgi_pass=${FASTCGI_PASS:-$fpm_listen}
[ -n "${FPM_SOCKET:-}" ] && [ -z "${FASTCGI_PASS:-}" ] && fastcgi_pass=unix:$fpm_listen
fastcgi_pass=${fastcgi_pass//@TMP@/$tmp}

mkdir -p "$tmp/www" "$tmp/ngx"
cat > "$tmp/www/index.php" <<'PHP'
<?php header('Content-Type: text/plain'); echo "hello ", $_GET['i'] ?? '', "\n";
PHP
cat > "$tmp/www/fail.php" <<'PHP'
<?php http_response_code(500); echo "failed\n";
PHP
cat > "$tmp/www/post.php" <<'PHP'
<?php echo strlen(file_get_contents('php://input')), "\n";
PHP
chmod -R a+rX "$tmp/www"

cat > "$tmp/fpm.conf" <<EOF2
[global]
pid = $tmp/fpm.pid
error_log = $tmp/fpm.log
daemonize = no
[live]
user = www-data
group = www-data
listen = $fpm_listen
pm = static
pm.max_children = $children
${FPM_POOL_EXTRA:-}
EOF2
cat > "$tmp/nginx.conf" <<EOF2
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 256; }
http {
  log_format scope '\$request_uri\t\$status\t\$upstream_addr\t\$upstream_status';
  access_log $tmp/access.log scope;
  client_body_temp_path $tmp/ngx/body;
  proxy_temp_path $tmp/ngx/proxy;
  fastcgi_temp_path $tmp/ngx/fastcgi;
  uwsgi_temp_path $tmp/ngx/uwsgi;
  scgi_temp_path $tmp/ngx/scgi;
  ${NGINX_HTTP_EXTRA:-}
  server {
    listen 127.0.0.1:$http_port;
    root $tmp/www;
    location ~ \.php\$ {
      fastcgi_pass $fastcgi_pass;
      fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
      fastcgi_param SCRIPT_NAME \$fastcgi_script_name;
      fastcgi_param REQUEST_METHOD \$request_method;
      fastcgi_param REQUEST_URI \$request_uri;
      fastcgi_param QUERY_STRING \$query_string;
      fastcgi_param CONTENT_TYPE \$content_type;
      fastcgi_param CONTENT_LENGTH \$content_length;
      fastcgi_param SERVER_PROTOCOL \$server_protocol;
      fastcgi_param GATEWAY_INTERFACE CGI/1.1;
      fastcgi_param SERVER_NAME \$server_name;
      fastcgi_param REMOTE_ADDR \$remote_addr;
    }
  }
}
EOF2

"$fpm" -F -n -y "$tmp/fpm.conf" >"$tmp/fpm.out" 2>&1 &
pids+=($!)
"$nginx" -p "$tmp" -c "$tmp/nginx.conf" -g 'daemon off;' >"$tmp/nginx.out" 2>&1 &
pids+=($!)
ready=0
for _ in $(seq 100); do
  if { [ -n "${FPM_SOCKET:-}" ] && [ -S "$fpm_listen" ] || ! port_free "$fpm_port"; } &&
     ! port_free "$http_port"; then ready=1; break; fi
  sleep 0.1
done
if [ $ready != 1 ]; then
  echo "FAIL: nginx/php-fpm did not start"; cat "$tmp"/*.out "$tmp"/*.log 2>/dev/null; echo "0 passed, 1 failed"; exit 1
fi

}
