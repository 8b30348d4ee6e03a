#!/usr/bin/env bash
# The restore drill (`make restore-drill`): proves that a lost PostgreSQL cluster comes back from pgBackRest within
# the RTO (< 1 h) and loses less than the RPO (< 15 min) of writes, with the archiving settings `make services` uses.
#
#   scripts/restore_drill.sh [--seconds N] [--keep]
#
# It works on a scratch cluster of its own (.local/drill/: data folder, repository, port), never on the developer's:
#   1. create a cluster with archiving on, write base data, take a full backup;
#   2. write a row a second for N seconds (default 75), then lose the cluster without warning (immediate stop, data
#      folder deleted) and restore everything the archive holds: what was not yet archived is the data lost;
#   3. on the restored cluster, write rows for a while, note the time T, write more and delete every row by mistake,
#      lose the cluster and restore it to T: every row written before T is back, none after it.
# For each restore it prints the measured recovery time (from the start of the restore to a cluster accepting
# writes) and the data lost, beside the targets, then PASS or FAIL (exit status 1 on FAIL). The scratch cluster is
# deleted afterwards (--keep leaves it in .local/drill to look at).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
. scripts/lib.sh
. scripts/backup.sh

RTO_TARGET_S=3600  # recovery time objective: 1 h
RPO_TARGET_S=900   # recovery point objective: 15 min

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
usage_error() { printf '%s\n\n' "restore_drill.sh: $1" >&2; usage >&2; exit 2; }

WRITE_SECONDS=75
KEEP=false
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) [ $# -ge 2 ] || usage_error "--seconds needs a number"; WRITE_SECONDS=$2; shift 2 ;;
    --seconds=*) WRITE_SECONDS=${1#--seconds=}; shift ;;
    --keep) KEEP=true; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
done
case "$WRITE_SECONDS" in ''|*[!0-9]*) usage_error "--seconds must be a whole number of seconds (5–3600), not '$WRITE_SECONDS'" ;; esac
if [ "$WRITE_SECONDS" -lt 5 ] || [ "$WRITE_SECONDS" -gt 3600 ]; then
  usage_error "--seconds must be between 5 and 3600, not $WRITE_SECONDS"
fi
command -v pgbackrest >/dev/null || fail "pgbackrest is not installed: run 'make provision'"

PG_BIN=/usr/lib/postgresql/15/bin
DRILL=${DRILL_DIR:-$ROOT/.local/drill}  # the tests give theirs another folder
PGDATA=$DRILL/postgres
PGRUN=$DRILL/run
PGBR_DIR=$DRILL/pgbackrest
PGBR_REPO=$DRILL/backups
STANZA=drill
SERVER_LOG=$DRILL/server.log  # outside the data folder, so it outlives the "lost" cluster

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PG_PORT=${DRILL_PORT:-$((56000 + RANDOM % 1000))}
while port_busy "$PG_PORT"; do PG_PORT=$((PG_PORT + 1)); done

drill_running() { [ -f "$PGDATA/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }
drill_start() {
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$SERVER_LOG" -o "-p $PG_PORT" -w -t 3600 start >/dev/null \
    || { tail -n 20 "$SERVER_LOG" >&2; fail "the scratch cluster did not start (log above)"; }
}
drill_restart() { as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null; drill_start; }
# Losing the cluster: no shutdown checkpoint, no last WAL archived, then the data folder is gone.
drill_lose() {
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null
  rm -rf "$PGDATA"
}
cleanup() {
  if drill_running; then as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true; fi
  if $KEEP; then echo "  the scratch cluster stays in .local/drill (--keep); 'rm -rf .local/drill' removes it"
  else rm -rf "$DRILL"; fi
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v < t) ? "PASS" : "FAIL" }'; }
human() { awk -v s="$1" 'BEGIN { if (s >= 60) printf "%.1f min", s / 60; else printf "%.1f s", s }'; }
q() { PG_SQL_DB=drill pg_sql "$1"; }
write_row() { q "INSERT INTO drill_rows (phase, payload) VALUES ('$1', repeat(md5(random()::text), 8))" >/dev/null; }
write_rows_for() {  # $1 phase, $2 seconds: one committed row a second
  local phase=$1 n=$2 i
  for ((i = 1; i <= n; i++)); do
    write_row "$phase"
    if [ $((i % 30)) = 0 ] || [ "$i" = "$n" ]; then printf '  %d/%d rows written\n' "$i" "$n"; fi
    sleep 1
  done
}

# A drill interrupted before (or run with --keep) left its cluster: stop it and start afresh.
if [ -e "$DRILL" ]; then
  if drill_running; then as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null || true; fi
  rm -rf "$DRILL"
fi
trap cleanup EXIT
if [ "$(id -u)" = 0 ]; then
  d=$ROOT; while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
fi
mkdir -p "$PGDATA" "$PGRUN"
chmod o+x "$(dirname "$DRILL")" "$DRILL"
[ "$(id -u)" = 0 ] && chown postgres: "$DRILL" "$PGDATA" "$PGRUN"

step "1. A scratch cluster on 127.0.0.1:$PG_PORT (${DRILL#"$ROOT/"}), archiving like 'make services', and a full backup"
as_pg "$PG_BIN/initdb" -D "$PGDATA" -U kmeme -E UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=reject >/dev/null
as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null <<CONF
listen_addresses = ''
unix_socket_directories = '$PGRUN'
CONF
backup_prepare
drill_start
backup_activate drill_restart
pg_sql "CREATE DATABASE drill" >/dev/null
q "CREATE TABLE drill_rows (id bigserial PRIMARY KEY, phase text NOT NULL,
     written_at timestamptz NOT NULL DEFAULT clock_timestamp(), payload text NOT NULL)" >/dev/null
q "INSERT INTO drill_rows (phase, written_at, payload)
   SELECT 'base', clock_timestamp(), repeat(md5(i::text), 8) FROM generate_series(1, 20000) i" >/dev/null
ok "20000 rows of base data"
backup_run full

step "2. Writing a row a second for ${WRITE_SECONDS}s, then losing the cluster without warning"
write_rows_for a "$WRITE_SECONDS"
written_a=$(q "SELECT count(*) FROM drill_rows")
newest_written=$(q "SELECT max(written_at) FROM drill_rows")
since_archived=$(q "SELECT extract(epoch FROM clock_timestamp() - last_archived_time) FROM pg_stat_archiver")
last_wal=$(q "SELECT last_archived_wal FROM pg_stat_archiver")
drill_lose
ok "cluster lost (immediate stop, data folder deleted); the last WAL archived was $last_wal, $(human "$since_archived") before"
started=$(now)
restore_run "" drill_start
rto_1=$(elapsed "$started" "$(now)")
recovered_a=$(q "SELECT count(*) FROM drill_rows")
newest_recovered=$(q "SELECT max(written_at) FROM drill_rows")
rpo_1=$(q "SELECT extract(epoch FROM timestamptz '$newest_written' - timestamptz '$newest_recovered')")
ok "restored everything archived in ${rto_1}s; $(restore_report)"

step "3. Writing on the restored cluster, noting T, then deleting every row by mistake; restoring to T"
write_rows_for b 10
sleep 0.5
T=$(q "SELECT clock_timestamp()")
newest_before_t=$(q "SELECT max(written_at) FROM drill_rows")
count_before_t=$(q "SELECT count(*) FROM drill_rows")
sleep 0.5
write_rows_for c 5
q "DELETE FROM drill_rows" >/dev/null
# The cluster lives on after a mistake: archiving carries on (forced here rather than waiting for archive_timeout),
# so the archive holds the WAL past T that recovery must read to know it has reached T.
pg_archive_flush 60 || fail "the WAL past T was not archived within 60 s (log: $PGBR_DIR/log)"
drill_lose
ok "T = $T; then 5 more rows, every row deleted, the cluster lost"
started=$(now)
restore_run "$T" drill_start
rto_2=$(elapsed "$started" "$(now)")
count_at_t=$(q "SELECT count(*) FROM drill_rows")
after_t=$(q "SELECT count(*) FROM drill_rows WHERE phase = 'c'")
newest_recovered_t=$(q "SELECT max(written_at) FROM drill_rows")
rpo_2=$(q "SELECT coalesce(extract(epoch FROM timestamptz '$newest_before_t' - max(written_at)), 1e9) FROM drill_rows")
before_t_gap=$(q "SELECT extract(epoch FROM timestamptz '$T' - max(written_at)) FROM drill_rows")
ok "restored to T in ${rto_2}s; $(restore_report)"

v_rto_1=$(verdict "$rto_1" "$RTO_TARGET_S"); v_rpo_1=$(verdict "$rpo_1" "$RPO_TARGET_S")
v_rto_2=$(verdict "$rto_2" "$RTO_TARGET_S"); v_rpo_2=$(verdict "$rpo_2" "$RPO_TARGET_S")
v_rows_2=FAIL; if [ "$count_at_t" = "$count_before_t" ] && [ "$after_t" = 0 ]; then v_rows_2=PASS; fi
step "Restore drill: results (targets RTO < 1 h, RPO < 15 min)"
cat <<REPORT
  Lost without warning, everything archived restored:
    recovery time (RTO)          $(printf '%-10s' "$(human "$rto_1")") target < 1 h      $v_rto_1
    data lost (RPO)              $(printf '%-10s' "$(human "$rpo_1")") target < 15 min   $v_rpo_1
      newest row written         $newest_written
      newest row recovered       $newest_recovered   ($recovered_a of $written_a rows)
      last WAL archived          $(human "$since_archived") before the loss (archive_timeout ${ARCHIVE_TIMEOUT_S} s bounds it)
  Deleted by mistake after T, restored to T = $T:
    recovery time (RTO)          $(printf '%-10s' "$(human "$rto_2")") target < 1 h      $v_rto_2
    data lost (RPO)              $(printf '%-10s' "$(human "$rpo_2")") target < 15 min   $v_rpo_2
      newest row recovered       $newest_recovered_t   ($(human "$before_t_gap") before T)
      rows                       $count_at_t recovered of $count_before_t written before T, $after_t of 5 written after T   $v_rows_2
REPORT
if [ "$v_rto_1$v_rpo_1$v_rto_2$v_rpo_2$v_rows_2" = PASSPASSPASSPASSPASS ]; then
  printf '%sRESULT: PASS%s\n' "$G" "$N"
else
  printf '%sRESULT: FAIL%s\n' "$R" "$N"; exit 1
fi
