#!/usr/bin/env bash
# Run a command with a Redis for the tests: TRACARDI_TEST_REDIS_URL if set, else 127.0.0.1:6379 if it answers,
# else a redis-server started here on a spare port (and stopped on exit).
set -euo pipefail

ping_redis() {  # host port -> 0 when a Redis answers PONG
  python3 - "$1" "$2" <<'PY'
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1) as s:
        s.sendall(b"PING\r\n")
        sys.exit(0 if s.recv(16).startswith(b"+PONG") else 1)
except OSError:
    sys.exit(1)
PY
}

if [ -z "${TRACARDI_TEST_REDIS_URL:-}" ]; then
  if ping_redis 127.0.0.1 6379; then
    export TRACARDI_TEST_REDIS_URL="redis://127.0.0.1:6379/0"
  elif command -v redis-server >/dev/null 2>&1; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    dir=$(mktemp -d)
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
    trap 'kill "$(cat "$dir/redis.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$dir"' EXIT
    for _ in $(seq 50); do ping_redis 127.0.0.1 "$port" && break; sleep 0.1; done
    export TRACARDI_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
    echo "started redis-server on port $port for the tests"
  else
    echo "No Redis answers on 127.0.0.1:6379 and redis-server is not installed."
    echo "Install it (Debian/Ubuntu: apt-get install redis-server) or set TRACARDI_TEST_REDIS_URL."
    exit 2
  fi
fi
echo "tests use Redis at $TRACARDI_TEST_REDIS_URL"
set +e
"$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here, not a pass"
fi
exit "$status"
