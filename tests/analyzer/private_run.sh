# private_run.sh — a private folder and the processes a live test or benchmark starts, stopped by PID at exit (sourced).
#
# private_run PREFIX: $tmp = a new /tmp/PREFIX.XXXXXX (mode 755, so nginx's
# and php-fpm's www-data workers can read it), $pids = () (append the PID of
# every process you start), and an EXIT trap calling cleanup: SIGTERM to each,
# up to 5 s for it to end, then SIGKILL; $tmp removed. Nothing is stopped by
# name (other sessions run the same programs). port_free PORT: nothing
# accepts a TCP connection on 127.0.0.1:PORT (bash's /dev/tcp: no iproute2).
# Used by live_env.sh, unix_test.sh, bench/unix_overhead.sh, bench/live_cost.sh.

cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
  done
  rm -rf "$tmp"
}

private_run() {
  tmp=$(mktemp -d "/tmp/$1.XXXXXX")
  chmod 755 "$tmp"
  pids=()
  trap cleanup EXIT
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
