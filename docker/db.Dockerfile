# PostgreSQL 15 with PostGIS 3 and pgvector (the postgis image carries the PGDG apt repository), and pgBackRest for
# continuous WAL archiving and backups (docker/pgbackrest.conf; README, "Backups and restore").
FROM postgis/postgis:15-3.4
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15-pgvector pgbackrest \
 && rm -rf /var/lib/apt/lists/*
COPY docker/pgbackrest.conf /etc/pgbackrest/pgbackrest.conf
# Runs once, when the data volume is first initialised (the entrypoint's temporary server already archives).
COPY docker/db-init/20-pgbackrest-stanza.sh /docker-entrypoint-initdb.d/
