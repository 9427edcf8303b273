#!/usr/bin/env bash
# `make bench`: every benchmark, each on a scratch PostgreSQL database of its own (DATABASE_URL's server).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
: "${DATABASE_URL:?make bench starts PostgreSQL and sets DATABASE_URL}"
server=${DATABASE_URL%/*}
scratch() {
  $BIN/python - "$server" "$1" <<'PY'
import sys, psycopg
with psycopg.connect(f"{sys.argv[1]}/postgres", autocommit=True) as c:
    c.execute(f'DROP DATABASE IF EXISTS "{sys.argv[2]}"'); c.execute(f'CREATE DATABASE "{sys.argv[2]}"')
PY
  export DATABASE_URL="$server/$1"
  $BIN/python manage.py migrate -v0
}
run() { echo; echo "== $*"; "$@"; }

scratch bench_customers
run $BIN/python manage.py bench_customers --yes --customers "${BENCH_CUSTOMERS:-1000000}"
scratch bench_postings
run $BIN/python manage.py bench_postings --yes --clients 2 --seconds 20
scratch bench_activity
DEBUG=true run $BIN/python manage.py seed_demo >/dev/null
run $BIN/python manage.py bench_activity
scratch bench_sse
DEBUG=true run $BIN/python manage.py seed_demo >/dev/null
run $BIN/python manage.py bench_sse --yes --subscribers 1000
scratch bench_import
run $BIN/python manage.py bench_import --yes --rows 50000 --existing "${BENCH_CUSTOMERS:-1000000}"
scratch bench_import_e2e
DEBUG=true run $BIN/python manage.py seed_demo >/dev/null
DEBUG=true run $BIN/python manage.py bench_import_e2e --yes --rows 50000
scratch bench_import_pace
run $BIN/python manage.py bench_import_pace --yes --rate 10 --seconds 60 --workers 2
scratch bench_queues
DEBUG=true run $BIN/python manage.py seed_demo >/dev/null
DEBUG=true run $BIN/python manage.py bench_queues --yes --rows 50000 --sends 20000 --seconds 190
