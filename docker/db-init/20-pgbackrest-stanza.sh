#!/usr/bin/env bash
# Creates the pgBackRest stanza and takes the first full backup when the compose `db` volume is initialised
# (docker-entrypoint-initdb.d; runs as postgres). For a volume created before, run once:
#   docker compose exec -u postgres db pgbackrest --stanza=kmeme stanza-create
set -euo pipefail
pgbackrest --stanza=kmeme stanza-create
pgbackrest --stanza=kmeme --type=full backup
