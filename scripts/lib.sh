# Shared helpers for the scripts in this folder (sourced, not run; the caller has cd'ed to the checkout).
if [ -t 1 ]; then B=$'\e[1m'; G=$'\e[32m'; R=$'\e[31m'; N=$'\e[0m'; else B=; G=; R=; N=; fi
step() { printf '%s==>%s %s\n' "$B" "$N" "$*"; }
ok() { printf '  %s✓%s %s\n' "$G" "$N" "$*"; }
fail() { printf '%s✗ %s%s\n' "$R" "$*" "$N" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

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

