#!/usr/bin/env bash
# Run the web server (uvicorn, ASGI), a Celery worker and beat together; Ctrl-C (or any of them dying) stops all.
set -uo pipefail
cd "$(dirname "$0")/.."
PORT=${1:-${PORT:-8000}}
BIN=.venv/bin
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "stopping…"
  kill "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
}
trap cleanup INT TERM EXIT

if [ -z "${DATABASE_URL:-}" ]; then echo "embedded default: SQLite in var/, filesystem broker, file cache (no servers)"; fi
if [ -z "${REDIS_URL:-}" ]; then
  # No Redis to carry live events between processes: the web process runs the trading simulator itself.
  BROKERCRM_INPROCESS_SIMULATOR=true $BIN/uvicorn brokercrm.asgi:application --host 127.0.0.1 --port "$PORT" --log-level warning --no-proxy-headers & pids+=($!)
else
  $BIN/uvicorn brokercrm.asgi:application --host 127.0.0.1 --port "$PORT" --log-level warning --no-proxy-headers & pids+=($!)
  $BIN/python manage.py run_simulator & pids+=($!)
fi
$BIN/celery -A brokercrm worker --loglevel warning --concurrency 2 & pids+=($!)
$BIN/celery -A brokercrm beat --loglevel warning & pids+=($!)
sleep 2
cat <<MSG

  BrokerCRM is running at http://127.0.0.1:$PORT/
  Log in at http://127.0.0.1:$PORT/login/ with admin@demo.test, compliance@demo.test,
  manager@demo.test or agent@demo.test — password: demo-password
  API docs: http://127.0.0.1:$PORT/api/docs/      Ctrl-C stops everything.

MSG
wait -n "${pids[@]}"
