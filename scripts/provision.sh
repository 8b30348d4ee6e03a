#!/usr/bin/env bash
# Idempotent provisioning for a fresh Debian 12 machine (root or sudo).
# Installs only what is missing: system packages, pgvector (built from Debian's
# source package, since bookworm does not ship it), and the project virtualenv.
# A second run does nothing but a few fast checks.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
. scripts/lib.sh

PG_MAJOR=15
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
SYSTEM_PACKAGES=(
  python3 python3-venv python3-dev build-essential ca-certificates
  postgresql-$PG_MAJOR postgresql-$PG_MAJOR-postgis-3 postgresql-server-dev-$PG_MAJOR
  redis-server gdal-bin dpkg-dev graphviz
  gettext  # msgfmt compiles the Korean catalogue (locale/ko); makemessages needs xgettext
  pgbackrest  # continuous WAL archiving, backups and point-in-time restore (scripts/backup.sh)
)
# Extra system packages a later step needs (e.g. chromium for browser tests).
if [ -n "${KMEME_EXTRA_PACKAGES:-}" ]; then
  read -r -a extra <<<"$KMEME_EXTRA_PACKAGES"
  SYSTEM_PACKAGES+=("${extra[@]}")
fi

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  step "Installing system packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  ok "system packages present"
fi

# pgvector: not packaged for bookworm, but trixie's source package builds against PostgreSQL 15.
PG_SHAREDIR=$($PG_CONFIG --sharedir)
if [ ! -f "$PG_SHAREDIR/extension/vector.control" ]; then
  step "Building pgvector from Debian's source package (trixie)"
  src_list=/etc/apt/sources.list.d/kmeme-trixie-src.sources
  tmp_lists=$(mktemp -d)
  as_root tee "$src_list" >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  build=$(mktemp -d)
  trap 'as_root rm -f "$src_list"; rm -rf "$build" "$tmp_lists"' EXIT
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  (cd "$build" && apt-get source -q --download-only pgvector && dpkg-source -x ./pgvector_*.dsc pgvector-src >/dev/null)
  make -s -C "$build/pgvector-src" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" with_llvm=no >/dev/null
  as_root make -s -C "$build/pgvector-src" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" with_llvm=no install >/dev/null
  # Drop the trixie source list again so later apt runs see only bookworm.
  as_root rm -f "$src_list"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || true
  ok "pgvector $(grep default_version "$PG_SHAREDIR/extension/vector.control" | cut -d"'" -f2) installed"
else
  ok "pgvector present"
fi

# The virtualenv, reinstalled only when pyproject.toml changes.
VENV=$ROOT/.venv
stamp=$VENV/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  step "Installing the project into .venv"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e ".[dev]"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
  ok "virtualenv ready"
else
  ok "virtualenv up to date"
fi

# The translations: locale/*/LC_MESSAGES/*.po are committed, their compiled .mo are not (built here when missing or
# older than their .po). msgfmt --check refuses a catalogue whose placeholders differ from the English ones.
compiled=0
for po in "$ROOT"/locale/*/LC_MESSAGES/*.po; do
  [ -f "$po" ] || continue
  mo=${po%.po}.mo
  if [ ! -f "$mo" ] || [ "$po" -nt "$mo" ]; then
    msgfmt --check -o "$mo" "$po"
    compiled=$((compiled + 1))
  fi
done
if [ "$compiled" -gt 0 ]; then ok "translations compiled ($compiled catalogue(s))"; else ok "translations up to date"; fi
