# Shared helpers for the scripts in this folder (sourced, not run; the caller has cd'ed to the checkout).
if [ -t 1 ]; then B=$'\e[1m'; G=$'\e[32m'; R=$'\e[31m'; N=$'\e[0m'; else B=; G=; R=; N=; fi
step() { printf '%s==>%s %s\n' "$B" "$N" "$*"; }
ok() { printf '  %s✓%s %s\n' "$G" "$N" "$*"; }
fail() { printf '%s✗ %s%s\n' "$R" "$*" "$N" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# PostgreSQL (and pgBackRest with it) refuses to run as root: as root, clusters belong to the `postgres` system user.
pg_user() { if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi; }
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

env_value() {  # the variable from the environment, else from .env (the order kmeme/settings.py reads them in)
  local name=$1
  if [ -n "${!name:-}" ]; then printf '%s' "${!name}"; return; fi
  [ -f .env ] && sed -n "s/^${name}=//p" .env | tail -n1 | sed -e 's/^"//' -e 's/"$//' || true
}

# The ports this checkout's local PostgreSQL and Redis use, written by `scripts/services.sh start`
# and read by kmeme/settings.py when KMEME_PG_PORT / KMEME_REDIS_PORT are not set.
PORTS_FILE=.local/ports
ports_file_value() {  # $1 variable name: its value in .local/ports, if any
  [ -f "$PORTS_FILE" ] && sed -n "s/^$1=\([0-9][0-9]*\)\$/\1/p" "$PORTS_FILE" | tail -n1 || true
}

# After `services.sh start`: hand the ports the services run on to the Python processes we start,
# so they never depend on which fallback settings.py would pick.
export_service_ports() {
  local name value
  for name in KMEME_PG_PORT KMEME_REDIS_PORT; do
    value=$(env_value "$name")
    [ -n "$value" ] || value=$(ports_file_value "$name")
    if [ -n "$value" ]; then export "$name=$value"; fi
  done
}

# Start the local services and export their ports. STARTED_SERVICES names the ones this call started
# (not those already up, on whatever port), so stop_started_services at exit leaves those alone.
start_services() {
  local before service
  before=" $(bash scripts/services.sh running | tr '\n' ' ') "
  bash scripts/services.sh start
  STARTED_SERVICES=()
  for service in $(bash scripts/services.sh running); do
    case "$before" in *" $service "*) ;; *) STARTED_SERVICES+=("$service") ;; esac
  done
  export_service_ports
}
stop_started_services() {
  if [ ${#STARTED_SERVICES[@]} -gt 0 ]; then bash scripts/services.sh stop "${STARTED_SERVICES[@]}"; fi
}
