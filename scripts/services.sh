#!/usr/bin/env bash
# Start/stop the project-local PostgreSQL (PostGIS + pgvector) and Redis.
#
#   scripts/services.sh start   # idempotent; prints nothing new if already up
#   scripts/services.sh stop
#   scripts/services.sh status
#
# Data lives under .local/ (git-ignored). When DATABASE_URL / REDIS_URL are set
# in the environment (or .env), that service is external and left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
. scripts/lib.sh

PG_BIN=/usr/lib/postgresql/15/bin
PG_PORT=${KMEME_PG_PORT:-54320}
REDIS_PORT=${KMEME_REDIS_PORT:-63790}
LOCAL=$ROOT/.local
PGDATA=$LOCAL/postgres
PGRUN=$LOCAL/run
REDIS_DIR=$LOCAL/redis

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
refuse_busy_port() {  # $1 port, $2 service, $3 variable that moves it
  if port_busy "$1"; then
    fail "$2 cannot start: 127.0.0.1:$1 is already taken (another checkout's 'make run'?). Stop that one with 'make stop' in its folder, or use another port: $3=<port> make …"
  fi
}

env_value() {  # the variable from the environment, else from .env
  local name=$1
  if [ -n "${!name:-}" ]; then printf '%s' "${!name}"; return; fi
  [ -f .env ] && sed -n "s/^${name}=//p" .env | tail -n1 | sed -e 's/^"//' -e 's/"$//' || true
}

# PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` system user.
pg_user() { if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi; }
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_running() { [ -f "$PGDATA/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

start_postgres() {
  if [ -n "$(env_value DATABASE_URL)" ]; then ok "PostgreSQL: using DATABASE_URL"; return; fi
  mkdir -p "$LOCAL"
  if [ "$(id -u)" = 0 ]; then
    # The postgres user must be able to reach the data folder through the checkout's path.
    chmod o+x "$LOCAL"
    d=$ROOT; while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
  fi
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    step "Creating the local PostgreSQL cluster in .local/postgres"
    rm -rf "$PGDATA"; mkdir -p "$PGDATA" "$PGRUN"
    [ "$(id -u)" = 0 ] && chown postgres: "$PGDATA" "$PGRUN"
    pwfile=$(mktemp); echo kmeme >"$pwfile"; chmod 644 "$pwfile"
    as_pg "$PG_BIN/initdb" -D "$PGDATA" -U kmeme --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    cat >>"$PGDATA/postgresql.conf" <<CONF
# K-MEME local development cluster
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PGRUN'
max_connections = 200
shared_buffers = 256MB
synchronous_commit = off
CONF
  fi
  mkdir -p "$PGRUN"; [ "$(id -u)" = 0 ] && chown postgres: "$PGRUN"
  if pg_running; then
    ok "PostgreSQL running on 127.0.0.1:$PG_PORT"
  else
    refuse_busy_port "$PG_PORT" PostgreSQL KMEME_PG_PORT
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 start >/dev/null \
      || { tail -n 20 "$PGDATA/server.log" >&2; fail "PostgreSQL did not start (log above)"; }
    ok "PostgreSQL started on 127.0.0.1:$PG_PORT"
  fi
  if ! as_pg "$PG_BIN/psql" -h "$PGRUN" -p "$PG_PORT" -U kmeme -d postgres -Atqc \
      "SELECT 1 FROM pg_database WHERE datname='kmeme'" | grep -q 1; then
    as_pg "$PG_BIN/createdb" -h "$PGRUN" -p "$PG_PORT" -U kmeme kmeme
    ok "database kmeme created"
  fi
}

redis_answers() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }
# Ours: started from this checkout (its pid file names a live process) and answering.
redis_running() {
  [ -f "$REDIS_DIR/redis.pid" ] && kill -0 "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null && redis_answers
}

start_redis() {
  if [ -n "$(env_value REDIS_URL)" ]; then ok "Redis: using REDIS_URL"; return; fi
  mkdir -p "$REDIS_DIR"
  if redis_running; then ok "Redis running on 127.0.0.1:$REDIS_PORT"; return; fi
  refuse_busy_port "$REDIS_PORT" Redis KMEME_REDIS_PORT
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$REDIS_DIR" \
    --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" --save "" --appendonly no >/dev/null
  for _ in $(seq 50); do redis_answers && break; sleep 0.1; done
  redis_running || { tail -n 20 "$REDIS_DIR/redis.log" >&2; fail "Redis did not start (log above)"; }
  ok "Redis started on 127.0.0.1:$REDIS_PORT"
}

stop_all() {
  if pg_running; then as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null && ok "PostgreSQL stopped"; fi
  if redis_running; then redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; ok "Redis stopped"; fi
}

case "${1:-start}" in
  start) step "Starting local services"; start_postgres; start_redis ;;
  stop) stop_all ;;
  status)
    if [ -n "$(env_value DATABASE_URL)" ]; then echo "postgres: external (DATABASE_URL)"; elif pg_running; then echo "postgres: running :$PG_PORT"; else echo "postgres: stopped"; fi
    if [ -n "$(env_value REDIS_URL)" ]; then echo "redis: external (REDIS_URL)"; elif redis_running; then echo "redis: running :$REDIS_PORT"; else echo "redis: stopped"; fi
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
