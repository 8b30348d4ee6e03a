# shellcheck shell=bash
# Continuous archiving and point-in-time restore with pgBackRest, for a cluster this checkout runs
# (sourced, not run: by scripts/services.sh for .local/postgres, by scripts/restore_drill.sh for its scratch cluster).
#
# The caller sets, for the cluster at hand:
#   PG_BIN PGDATA PGRUN PG_PORT  the cluster (binaries, data folder, socket folder, port)
#   PGBR_DIR                     its pgBackRest folder: pgbackrest.conf, log/, lock/, spool/
#   PGBR_REPO                    the repository (backups and archived WAL)
#   STANZA                       the stanza name
# Everything is per checkout: never /etc/pgbackrest.conf, /var/lib/pgbackrest or /tmp/pgbackrest (the lock folder),
# which every checkout on the machine would share. As root, pgBackRest runs as `postgres`, like the cluster.

PGBR_RETENTION_FULL=${PGBR_RETENTION_FULL:-7}  # full backups kept (a week of nightly ones); older ones and their WAL expire
ARCHIVE_TIMEOUT_S=60                           # a WAL segment is shipped at least this often while anything is written
PG_ARCHIVE_CONF=kmeme-archive.conf              # in $PGDATA, included by postgresql.conf

pgbr_conf() { printf '%s' "$PGBR_DIR/pgbackrest.conf"; }
# In UTC: backup labels carry the local time and must increase whoever runs pgBackRest (kmeme.backups does the same).
pgbr() { TZ=UTC as_pg pgbackrest --config="$(pgbr_conf)" --stanza="$STANZA" "$@"; }
pg_sql() { as_pg "$PG_BIN/psql" -h "$PGRUN" -p "$PG_PORT" -U kmeme -d "${PG_SQL_DB:-postgres}" -XAtqc "$1"; }

# Writes $PGBR_DIR/pgbackrest.conf (only when it changes: the port may move between starts).
pgbr_write_conf() {
  local conf wanted
  conf=$(pgbr_conf)
  mkdir -p "$PGBR_DIR/log" "$PGBR_DIR/lock" "$PGBR_DIR/spool" "$PGBR_REPO"
  [ "$(id -u)" = 0 ] && chown -R postgres: "$PGBR_DIR" "$PGBR_REPO"
  chmod 700 "$PGBR_REPO"
  wanted=$(cat <<CONF
# Written by scripts/backup.sh for this checkout's cluster; rewritten when its port or folders change.
[global]
repo1-path=$PGBR_REPO
repo1-retention-full=$PGBR_RETENTION_FULL
compress-type=zst
compress-level=3
process-max=2
start-fast=y
log-path=$PGBR_DIR/log
lock-path=$PGBR_DIR/lock
spool-path=$PGBR_DIR/spool
log-level-console=warn
log-level-file=info

[$STANZA]
pg1-path=$PGDATA
pg1-port=$PG_PORT
pg1-socket-path=$PGRUN
pg1-user=kmeme
CONF
)
  if [ "$(cat "$conf" 2>/dev/null)" != "$wanted" ]; then
    printf '%s\n' "$wanted" | as_pg tee "$conf.tmp" >/dev/null
    as_pg mv "$conf.tmp" "$conf"
  fi
}

# Writes the archiving settings into $PGDATA/kmeme-archive.conf and includes it from postgresql.conf (once).
# Kept apart from postgresql.conf so an existing cluster is upgraded by the next start without editing its settings.
pg_archive_conf_write() {
  local file=$PGDATA/$PG_ARCHIVE_CONF wanted
  wanted=$(cat <<CONF
# Continuous archiving to this checkout's pgBackRest repository (written by scripts/backup.sh).
wal_level = replica
archive_mode = on
archive_command = 'pgbackrest --config="$(pgbr_conf)" --stanza=$STANZA archive-push "%p"'
archive_timeout = $ARCHIVE_TIMEOUT_S
CONF
)
  if [ "$(cat "$file" 2>/dev/null)" != "$wanted" ]; then
    printf '%s\n' "$wanted" | as_pg tee "$file" >/dev/null
  fi
  if ! grep -q "^include_if_exists = '$PG_ARCHIVE_CONF'" "$PGDATA/postgresql.conf"; then
    printf '%s\n' "include_if_exists = '$PG_ARCHIVE_CONF'  # continuous archiving (scripts/backup.sh)" \
      | as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null
  fi
}

# On a running cluster: pick up the archiving settings. archive_command and archive_timeout need a reload;
# archive_mode and wal_level a restart ($1: the caller's restart function), done only when they changed.
pg_archive_apply() {
  local restart=$1
  if [ "$(pg_sql "SELECT current_setting('archive_mode') = 'on' AND current_setting('archive_command') LIKE 'pgbackrest %'")" = t ]; then
    return
  fi
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" reload >/dev/null
  sleep 1  # the reload is asynchronous
  if [ "$(pg_sql "SELECT count(*) FROM pg_settings WHERE pending_restart")" != 0 ]; then
    step "Restarting PostgreSQL once to turn on WAL archiving (archive_mode)"
    "$restart"
  fi
  ok "WAL archiving on (pgBackRest, a segment at least every ${ARCHIVE_TIMEOUT_S}s)"
}

pgbr_stanza_exists() { [ -f "$PGBR_REPO/backup/$STANZA/backup.info" ] && [ -f "$PGBR_REPO/archive/$STANZA/archive.info" ]; }
# The stanza (the repository's record of this cluster) is created once, with the cluster running.
pgbr_stanza_ensure() {
  if ! pgbr_stanza_exists; then
    pgbr stanza-create >/dev/null || fail "pgbackrest stanza-create failed (log: $PGBR_DIR/log)"
    ok "pgBackRest stanza '$STANZA' created in ${PGBR_REPO#"$ROOT/"}"
  fi
}

# All of the above for a cluster: config files before it starts, then ($1 = restart function) apply and stanza.
backup_prepare() { pgbr_write_conf; pg_archive_conf_write; }
backup_activate() { pg_archive_apply "$1"; pgbr_stanza_ensure; }

# pgbackrest backup; $1 full|diff|incr. Expiry by repo1-retention-full runs after each backup.
backup_run() {
  local kind=${1:-full}
  case "$kind" in full|diff|incr) ;; *) fail "TYPE must be full, diff or incr (not '$kind')" ;; esac
  pgbr_stanza_exists || fail "no pgBackRest stanza yet: run 'make services' first"
  step "pgBackRest $kind backup of 127.0.0.1:$PG_PORT into ${PGBR_REPO#"$ROOT/"}"
  local started=$SECONDS out
  out=$(pgbr --type="$kind" --log-level-console=info backup 2>&1) \
    || { printf '%s\n' "$out" | tail -n 5 >&2; fail "pgbackrest backup failed (log: $PGBR_DIR/log)"; }
  printf '%s\n' "$out" | sed -n 's/^.* INFO: \(new backup label .*\|.*backup size .*\)$/  \1/p'
  ok "$kind backup done in $((SECONDS - started))s"
}

backups_list() {
  pgbr_stanza_exists || fail "no pgBackRest stanza yet: run 'make services' first"
  pgbr info
  echo "archiving: $(pg_sql "SELECT coalesce('last WAL ' || last_archived_wal || ' at ' || last_archived_time, 'nothing archived yet') || CASE WHEN failed_count > 0 AND last_failed_time > coalesce(last_archived_time, '-infinity') THEN ' (FAILING since ' || last_failed_time || ': see $PGBR_DIR/log)' ELSE '' END FROM pg_stat_archiver" 2>/dev/null || echo 'cluster not running')"
}

# On a running cluster: close the current WAL segment and wait until it is archived, so the archive holds everything
# committed so far (a restore target in the open segment would otherwise be out of reach). $1 timeout in seconds.
pg_archive_flush() {
  local segment deadline=$((SECONDS + ${1:-60}))
  segment=$(pg_sql "SELECT pg_walfile_name(pg_switch_wal())")
  until [ "$(pg_sql "SELECT last_archived_wal >= '$segment' FROM pg_stat_archiver")" = t ]; do
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# Waits until the cluster has left recovery (promoted) and accepts writes; $1 timeout in seconds.
pg_wait_promoted() {
  local deadline=$((SECONDS + $1))
  until [ "$(pg_sql "SELECT NOT pg_is_in_recovery()" 2>/dev/null)" = t ]; do
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# Restores $PGDATA from the repository: to the time $1 ("2026-11-22 10:00:00+00"), or to the end of the archived WAL
# when $1 is empty. The cluster must be stopped. $2: the caller's start function (which must wait for connections).
restore_run() {
  local target=$1 start=$2
  local args=(--log-level-console=warn)
  # --delta keeps the files that match the backup (fast for a large cluster); a cluster that is gone has none.
  [ -f "$PGDATA/PG_VERSION" ] && args+=(--delta)
  if [ -n "$target" ]; then
    args+=(--type=time "--target=$target" --target-action=promote)
  else
    args+=(--type=default)
  fi
  mkdir -p "$PGDATA"; [ "$(id -u)" = 0 ] && chown postgres: "$PGDATA"; chmod 700 "$PGDATA"
  pgbr "${args[@]}" restore || fail "pgbackrest restore failed (log: $PGBR_DIR/log); the cluster is left stopped"
  "$start"
  pg_wait_promoted 3600 || fail "PostgreSQL did not finish recovery (log: $PGDATA/server.log)"
}

# What a restore brought back: the last transaction replayed, and the timeline the cluster now writes on.
restore_report() {
  pg_sql "SELECT 'newest transaction recovered: ' || coalesce(pg_last_xact_replay_timestamp()::text, 'none replayed (the backup itself)')
    || ', now on timeline ' || ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int"
}
