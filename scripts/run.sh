#!/usr/bin/env bash
# Run the web server (uvicorn, ASGI), one Celery worker per queue and beat together. Ctrl-C (or any of them dying)
# stops all within 10 s: TERM to each (a worker's warm shutdown only finishes its running tasks, which are short:
# no task sleeps), then KILL to whatever is left of their process groups after STOP_GRACE_SECONDS.
set -uo pipefail
cd "$(dirname "$0")/.."
PORT=${1:-${PORT:-8000}}
HOST=${HOST:-127.0.0.1}
BIN=.venv/bin
GRACE=${STOP_GRACE_SECONDS:-7}
pids=()
# Each process runs in a session of its own (setsid): Ctrl-C reaches this script only, which stops them in order;
# a signal from the terminal must not hit a worker's pool processes in the middle of a task.
start() { setsid "$@" & pids+=($!); }
cleanup() {
  trap - INT TERM EXIT
  echo; echo "stopping…"
  kill -TERM "${pids[@]}" 2>/dev/null
  local deadline=$((SECONDS + GRACE)) pid alive
  while [ $SECONDS -lt $deadline ]; do
    alive=0
    for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null && echo "killed process group $pid after ${GRACE}s"; done
  wait 2>/dev/null
}
trap cleanup INT TERM EXIT

if [ -z "${DATABASE_URL:-}" ]; then echo "embedded default: SQLite in var/, filesystem broker, file cache (no servers)"; fi
web=(--host "$HOST" --port "$PORT" --log-level warning --timeout-graceful-shutdown 3 --workers "${WEB_CONCURRENCY:-1}"
     --no-proxy-headers)
if [ -z "${REDIS_URL:-}" ]; then
  # No Redis to carry live events between processes: the web process runs the trading simulator itself
  # (crm.trading.asgi starts it next to the application).
  start $BIN/uvicorn crm.trading.asgi:application "${web[@]}"
else
  start $BIN/uvicorn brokercrm.asgi:application "${web[@]}"
  start $BIN/python manage.py run_simulator
fi
# One worker per queue (brokercrm/celery.py), so a bulk import's e-mails never queue in front of a webhook's
# events or the overdue check, and a paced import's chunks (scheduled, not sleeping) never hold a send back.
# On one machine the bulk kinds (sends, import chunks) run niced, so the web (webhooks, pages) and the default
# queue keep their latency when the CPU is short; in production each kind has machines of its own.
worker() {
  start nice -n "$3" $BIN/celery -A brokercrm worker -Q "$1" -n "$1@%h" --concurrency "$2" --loglevel warning \
    --without-mingle --without-gossip
}
worker default "${CELERY_DEFAULT_CONCURRENCY:-2}" 0
worker comms "${CELERY_COMMS_CONCURRENCY:-2}" 10
worker imports "${CELERY_IMPORTS_CONCURRENCY:-2}" 5
start $BIN/celery -A brokercrm beat --loglevel warning
sleep 2
if [ "${DEBUG:-true}" = "false" ]; then
  cat <<MSG

  BrokerCRM is running in production mode at $HOST:$PORT (serve it behind your HTTPS proxy).
  Ctrl-C stops everything.

MSG
else
  cat <<MSG

  BrokerCRM is running at http://127.0.0.1:$PORT/
  Log in at http://127.0.0.1:$PORT/login/ with admin@demo.test, compliance@demo.test,
  manager@demo.test or agent@demo.test — password: demo-password
  API docs: http://127.0.0.1:$PORT/api/docs/      Ctrl-C stops everything.

MSG
fi
wait -n "${pids[@]}"
