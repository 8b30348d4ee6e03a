#!/usr/bin/env bash
# Start/stop the project-local PostgreSQL (PostGIS + pgvector) and Redis.
#
#   scripts/services.sh start                   # idempotent; moves a service whose port changed
#   scripts/services.sh stop [postgres] [redis] # both when none is named
#   scripts/services.sh status                  # what runs, on which port
#   scripts/services.sh running                 # names of this checkout's services that run (for scripts)
#   scripts/services.sh backup [full|diff|incr] # pgBackRest backup of the local cluster (scripts/backup.sh)
#   scripts/services.sh backups                 # list the backups and the archiving state
#   scripts/services.sh restore [TIME]          # point-in-time restore (to the end of the archive without TIME)
#
# Data lives under .local/ (git-ignored). When DATABASE_URL / REDIS_URL are set
# in the environment (or .env), that service is external and left alone.
#
# Ports, first found wins: KMEME_PG_PORT / KMEME_REDIS_PORT (environment, then .env); the ones
# remembered in .local/ports; the port the service already runs on; a cluster's port from before
# ports could move (in its postgresql.conf); else this checkout's own pair, 54320+n / 63790+n with n
# (1..999) derived from the checkout's absolute path, moving on to the next n while either is taken.
# `start` writes what it used to .local/ports, so a moved port stays moved and settings.py finds it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
. scripts/lib.sh
. scripts/backup.sh

PG_BIN=/usr/lib/postgresql/15/bin
PG_BASE=54320
REDIS_BASE=63790
SLOTS=1000  # n runs 1..999: slot 0 (54320/63790) stays with checkouts made before ports were per checkout
LOCAL=$ROOT/.local
PGDATA=$LOCAL/postgres
PGRUN=$LOCAL/run
REDIS_DIR=$LOCAL/redis
PGBR_DIR=$LOCAL/pgbackrest  # pgbackrest.conf, its log and locks (scripts/backup.sh)
PGBR_REPO=$LOCAL/backups    # the repository: full/diff/incr backups and the archived WAL
STANZA=kmeme

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
refuse_busy_port() {  # $1 port, $2 service, $3 variable that moves it
  if port_busy "$1"; then
    fail "$2 cannot start: 127.0.0.1:$1 is already taken (another checkout's 'make run'?). Stop that one with 'make stop' in its folder, or use another port: $3=<port> make …"
  fi
}

# Found by its data folder, whatever port it runs on.
pg_running() { [ -f "$PGDATA/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }
pg_actual_port() { sed -n 4p "$PGDATA/postmaster.pid"; }  # the 4th line of postmaster.pid is the port it listens on
# Clusters created before ports could move had the port written into postgresql.conf.
pg_conf_port() { [ -f "$PGDATA/postgresql.conf" ] && sed -n 's/^port = \([0-9][0-9]*\)$/\1/p' "$PGDATA/postgresql.conf" | tail -n1 || true; }

# Our Redis records the port it was started on beside its pid file (one started before that: the port asked for).
redis_recorded_port() { if [ -f "$REDIS_DIR/redis.port" ]; then cat "$REDIS_DIR/redis.port"; else echo "${REDIS_PORT:-}"; fi; }
# Ours: the process in our pid file is alive and is the Redis answering on our port (never another checkout's).
redis_running() {
  local pid port
  [ -f "$REDIS_DIR/redis.pid" ] || return 1
  pid=$(cat "$REDIS_DIR/redis.pid"); port=$(redis_recorded_port)
  [ -n "$pid" ] && [ -n "$port" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ "$(redis-cli -h 127.0.0.1 -p "$port" info server 2>/dev/null | sed -n 's/^process_id:\([0-9]*\).*/\1/p')" = "$pid" ]
}

# This checkout's automatic slot: the same for the same path on every run, different for another checkout.
auto_slot() { echo $(( 16#$(printf '%s' "$ROOT" | sha256sum | cut -c1-8) % (SLOTS - 1) + 1 )); }

resolve_ports() {  # sets PG_PORT and REDIS_PORT (see the header for the order)
  PG_PORT=$(env_value KMEME_PG_PORT); REDIS_PORT=$(env_value KMEME_REDIS_PORT)
  [ -n "$PG_PORT" ] || PG_PORT=$(ports_file_value KMEME_PG_PORT)
  [ -n "$REDIS_PORT" ] || REDIS_PORT=$(ports_file_value KMEME_REDIS_PORT)
  if [ -z "$PG_PORT" ] && pg_running; then PG_PORT=$(pg_actual_port); fi
  if [ -z "$REDIS_PORT" ] && [ -f "$REDIS_DIR/redis.port" ] && redis_running; then REDIS_PORT=$(redis_recorded_port); fi
  if [ -z "$PG_PORT" ] || [ -z "$REDIS_PORT" ]; then
    local legacy offset
    legacy=$(pg_conf_port)
    if [ -n "$legacy" ]; then  # keep the pair an older checkout has always used (54320/63790, or a moved pair)
      PG_PORT=${PG_PORT:-$legacy}
      offset=$((legacy - PG_BASE))
      if [ "$offset" -ge 0 ] && [ "$offset" -lt "$SLOTS" ]; then REDIS_PORT=${REDIS_PORT:-$((REDIS_BASE + offset))}; fi
    fi
  fi
  if [ -z "$PG_PORT" ] || [ -z "$REDIS_PORT" ]; then
    local slot pg redis
    slot=$(auto_slot)
    for _ in $(seq 50); do
      pg=$((PG_BASE + slot)); redis=$((REDIS_BASE + slot))
      if { [ -n "$PG_PORT" ] || ! port_busy "$pg"; } && { [ -n "$REDIS_PORT" ] || ! port_busy "$redis"; }; then break; fi
      slot=$((slot % (SLOTS - 1) + 1))
    done
    PG_PORT=${PG_PORT:-$pg}; REDIS_PORT=${REDIS_PORT:-$redis}
  fi
}

remember_ports() {  # .local/ports: what settings.py and the next run use; rewritten only when it changes
  local wanted
  wanted=$(printf '%s\n' \
    "# This checkout's local PostgreSQL and Redis ports, kept by scripts/services.sh; kmeme/settings.py reads them." \
    "# KMEME_PG_PORT / KMEME_REDIS_PORT in the environment or .env win, and are remembered here by the next start." \
    "KMEME_PG_PORT=$PG_PORT" "KMEME_REDIS_PORT=$REDIS_PORT")
  if [ "$(cat "$PORTS_FILE" 2>/dev/null)" != "$wanted" ]; then
    mkdir -p "$LOCAL"; printf '%s\n' "$wanted" >"$PORTS_FILE.tmp"; mv "$PORTS_FILE.tmp" "$PORTS_FILE"
  fi
}

pg_start() {
  # The port is given on the command line, never kept in postgresql.conf, so it can change from one start to the next.
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -o "-p $PG_PORT" -w -t "${PG_START_TIMEOUT:-60}" start >/dev/null \
    || { tail -n 20 "$PGDATA/server.log" >&2; fail "PostgreSQL did not start (log above)"; }
}
# A cluster from before ports could move: once .local/ports remembers its port, the one in its conf would only mislead.
retire_conf_port() {
  if [ -n "$(pg_conf_port)" ]; then
    as_pg sed -i 's/^port = [0-9][0-9]*$/# port: passed to pg_ctl by scripts\/services.sh (see .local\/ports)/' "$PGDATA/postgresql.conf"
  fi
}
pg_stop() { as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null; }
pg_restart() { pg_stop; pg_start; }

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
    as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null <<CONF
# K-MEME local development cluster (the port is not here: scripts/services.sh passes it to pg_ctl)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PGRUN'
max_connections = 200
shared_buffers = 256MB
synchronous_commit = off
CONF
  fi
  mkdir -p "$PGRUN"; [ "$(id -u)" = 0 ] && chown postgres: "$PGRUN"
  backup_prepare  # archiving settings in place before the cluster (re)starts
  if pg_running; then
    local actual
    actual=$(pg_actual_port)
    if [ "$actual" = "$PG_PORT" ]; then
      ok "PostgreSQL running on 127.0.0.1:$PG_PORT"
    else
      refuse_busy_port "$PG_PORT" PostgreSQL KMEME_PG_PORT
      pg_stop; pg_start
      ok "PostgreSQL moved from 127.0.0.1:$actual to 127.0.0.1:$PG_PORT"
    fi
  else
    refuse_busy_port "$PG_PORT" PostgreSQL KMEME_PG_PORT
    pg_start
    ok "PostgreSQL started on 127.0.0.1:$PG_PORT"
  fi
  if ! as_pg "$PG_BIN/psql" -h "$PGRUN" -p "$PG_PORT" -U kmeme -d postgres -Atqc \
      "SELECT 1 FROM pg_database WHERE datname='kmeme'" | grep -q 1; then
    as_pg "$PG_BIN/createdb" -h "$PGRUN" -p "$PG_PORT" -U kmeme kmeme
    ok "database kmeme created"
  fi
  backup_activate pg_restart
}

redis_stop() {
  local pid port
  pid=$(cat "$REDIS_DIR/redis.pid"); port=$(redis_recorded_port)
  redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}

# A Redis started before persistence was on (`--appendonly no`) turns it on in place: CONFIG SET appendonly yes
# writes the AOF from what the server holds, so nothing is lost and no restart is needed.
redis_persistence_upgrade() {
  local port
  port=$(redis_recorded_port)
  if [ "$(redis-cli -h 127.0.0.1 -p "$port" config get appendonly | sed -n 2p)" != yes ]; then
    redis-cli -h 127.0.0.1 -p "$port" config set appendfsync everysec >/dev/null
    redis-cli -h 127.0.0.1 -p "$port" config set appendonly yes >/dev/null
    ok "Redis persistence on (append-only file in .local/redis)"
  fi
}

start_redis() {
  if [ -n "$(env_value REDIS_URL)" ]; then ok "Redis: using REDIS_URL"; return; fi
  mkdir -p "$REDIS_DIR"
  local moved_from=
  if redis_running; then
    moved_from=$(redis_recorded_port)
    if [ "$moved_from" = "$REDIS_PORT" ]; then
      echo "$REDIS_PORT" >"$REDIS_DIR/redis.port"  # one started before the port was recorded
      redis_persistence_upgrade
      ok "Redis running on 127.0.0.1:$REDIS_PORT"; return
    fi
    refuse_busy_port "$REDIS_PORT" Redis KMEME_REDIS_PORT
    redis_stop
  fi
  refuse_busy_port "$REDIS_PORT" Redis KMEME_REDIS_PORT
  echo "$REDIS_PORT" >"$REDIS_DIR/redis.port"
  # Persistence (AOF) comes from scripts/redis.conf, as in docker-compose.yml; the rest is this checkout's.
  redis-server "$ROOT/scripts/redis.conf" --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$REDIS_DIR" \
    --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" >/dev/null
  for _ in $(seq 50); do redis_running && break; sleep 0.1; done
  redis_running || { tail -n 20 "$REDIS_DIR/redis.log" >&2; fail "Redis did not start (log above)"; }
  if [ -n "$moved_from" ]; then ok "Redis moved from 127.0.0.1:$moved_from to 127.0.0.1:$REDIS_PORT"; else ok "Redis started on 127.0.0.1:$REDIS_PORT"; fi
}

stop_postgres() {
  if pg_running; then
    local port
    port=$(pg_actual_port)
    pg_stop && ok "PostgreSQL stopped (was on 127.0.0.1:$port)"
  fi
}
stop_redis() {
  if redis_running; then
    local port
    port=$(redis_recorded_port)
    redis_stop; ok "Redis stopped (was on 127.0.0.1:$port)"
  fi
}

status_line() {  # $1 service, $2 its URL variable, $3 its port variable, $4 wanted port, then how to tell it runs
  local name=$1 url_var=$2 port_var=$3 wanted=$4 running=$5 actual_port=$6
  if [ -n "$(env_value "$url_var")" ]; then
    echo "$name: external ($url_var)"
  elif $running; then
    local actual
    actual=$($actual_port)
    if [ "$actual" = "$wanted" ]; then echo "$name: running on 127.0.0.1:$actual"
    elif port_busy "$wanted"; then echo "$name: running on 127.0.0.1:$actual (this checkout now asks for $wanted, which something else uses)"
    else echo "$name: running on 127.0.0.1:$actual (this checkout now asks for $wanted: 'make services' moves it)"; fi
  elif port_busy "$wanted"; then
    echo "$name: stopped (127.0.0.1:$wanted is taken by something else: set $port_var to move it)"
  else
    echo "$name: stopped (starts on 127.0.0.1:$wanted)"
  fi
}

resolve_ports
case "${1:-start}" in
  start)
    step "Starting local services"
    start_postgres; start_redis
    if [ -z "$(env_value DATABASE_URL)" ] || [ -z "$(env_value REDIS_URL)" ]; then remember_ports; fi
    if [ -z "$(env_value DATABASE_URL)" ]; then retire_conf_port; fi
    ;;
  stop)
    shift
    [ $# -gt 0 ] || set -- postgres redis
    for service in "$@"; do
      case "$service" in
        postgres) stop_postgres ;;
        redis) stop_redis ;;
        *) echo "unknown service: $service (postgres, redis)" >&2; exit 2 ;;
      esac
    done
    ;;
  status)
    status_line postgres DATABASE_URL KMEME_PG_PORT "$PG_PORT" pg_running pg_actual_port
    status_line redis REDIS_URL KMEME_REDIS_PORT "$REDIS_PORT" redis_running redis_recorded_port
    ;;
  running)
    ! pg_running || echo postgres
    ! redis_running || echo redis
    ;;
  backup|backups|restore)
    if [ -n "$(env_value DATABASE_URL)" ]; then
      fail "DATABASE_URL points at another server: back it up where it runs (README, \"Backups and restore\")"
    fi
    [ -f "$PGDATA/PG_VERSION" ] || fail "no local cluster in .local/postgres yet: run 'make services' first"
    case "$1" in
      backup)
        pg_running || fail "PostgreSQL is not running: 'make services' first"
        backup_run "${2:-full}" ;;
      backups) backups_list ;;
      restore)
        target=${2:-}
        pgbr_stanza_exists || fail "no pgBackRest stanza yet: run 'make services' first"
        step "Restoring .local/postgres to ${target:-the end of the archived WAL} (this replaces the cluster's data)"
        restore_started=$SECONDS
        if pg_running; then  # a target in the WAL segment still being written must be archived to be reached
          pg_archive_flush 60 || echo "  ! the newest WAL could not be archived: the restore reaches only what the archive holds" >&2
        fi
        stop_postgres
        PG_START_TIMEOUT=3600 restore_run "$target" pg_start
        ok "PostgreSQL accepts queries on 127.0.0.1:$PG_PORT again, $((SECONDS - restore_started))s after the restore began"
        ok "$(restore_report)"
        ;;
    esac
    ;;
  *) echo "usage: $0 start|stop [postgres] [redis]|status|running|backup [full|diff|incr]|backups|restore [TIME]" >&2; exit 2 ;;
esac
