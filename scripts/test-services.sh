#!/usr/bin/env bash
# Throwaway PostgreSQL 15 and Redis on private loopback ports, for `make test`.
#   scripts/test-services.sh start   -> installs what is missing, starts both, writes var/test-services.env
#   scripts/test-services.sh stop    -> stops both and removes their data
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUN=${TEST_SERVICES_DIR:-/tmp/brokercrm-test-$(id -u)-$(echo "$ROOT" | md5sum | cut -c1-8)}
PG_PORT=${TEST_PG_PORT:-55432}
REDIS_PORT=${TEST_REDIS_PORT:-56379}
PG_BIN=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)

install_missing() {
  local need=()
  [ -n "$PG_BIN" ] || need+=(postgresql-15)
  command -v redis-server >/dev/null || need+=(redis-server)
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]} from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
    PG_BIN=/usr/lib/postgresql/15/bin
  fi
}

start() {
  install_missing
  stop >/dev/null 2>&1 || true
  mkdir -p "$RUN"
  chown postgres:postgres "$RUN"
  # PostgreSQL refuses to run as root: everything below runs as the postgres user.
  runuser -u postgres -- "$PG_BIN/initdb" -D "$RUN/pg" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$RUN/initdb.log"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$RUN/pg" -l "$RUN/pg.log" -w -t 60 start \
    -o "-p $PG_PORT -k $RUN -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=512MB" >/dev/null
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$RUN/redis.pid" --logfile "$RUN/redis.log" --dir "$RUN"
  for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  cat > "${TEST_SERVICES_ENV:-$ROOT/var/test-services.env}" <<ENV
export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/brokercrm
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
ENV
  echo "PostgreSQL on 127.0.0.1:$PG_PORT, Redis on 127.0.0.1:$REDIS_PORT"
}

stop() {
  if [ -f "$RUN/redis.pid" ]; then kill "$(cat "$RUN/redis.pid")" 2>/dev/null || true; fi
  if [ -d "$RUN/pg" ]; then runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$RUN/pg" -m immediate stop >/dev/null 2>&1 || true; fi
  rm -rf "$RUN" "${TEST_SERVICES_ENV:-$ROOT/var/test-services.env}"
}

mkdir -p "$ROOT/var"
case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
