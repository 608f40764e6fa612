#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster for the test suite and print its SQLAlchemy URL.
#
#   MRV_TEST_POSTGRES_URL=$(bash scripts/pg_test_server.sh)     # start (or reuse) the server
#   bash scripts/pg_test_server.sh stop                          # stop it
#
# The cluster listens on 127.0.0.1 only, port $MRV_PG_PORT (default 54329), with trust
# authentication for the superuser `postgres`: it is for tests on a loopback interface,
# never for data. Its data directory is $MRV_PG_DATA (default /tmp/mrv-pg-<port>).
# initdb refuses to run as root, so as root the server runs as the `postgres` system user
# (Debian's postgresql package creates it); as any other user it runs as that user.
# Everything but the URL goes to stderr.
set -euo pipefail

PORT="${MRV_PG_PORT:-54329}"
DATA="${MRV_PG_DATA:-/tmp/mrv-pg-${PORT}}"
URL="postgresql+psycopg://postgres@127.0.0.1:${PORT}/postgres"

PGBIN="${MRV_PG_BIN:-}"
if [ -z "$PGBIN" ]; then
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
  echo "pg_test_server.sh: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin;" \
       "install Debian's 'postgresql' package or set MRV_PG_BIN" >&2
  exit 2
fi

as_owner() {
  if [ "$(id -u)" = "0" ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

if [ "${1:-start}" = "stop" ]; then
  if [ -s "$DATA/postmaster.pid" ]; then
    as_owner "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >&2
  fi
  exit 0
fi

if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; then
  echo "pg_test_server.sh: a server already answers on 127.0.0.1:${PORT}; reusing it" >&2
  echo "$URL"
  exit 0
fi

if [ ! -s "$DATA/PG_VERSION" ]; then
  mkdir -p "$DATA"
  if [ "$(id -u)" = "0" ]; then chown postgres: "$DATA"; fi
  chmod 700 "$DATA"
  as_owner "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --no-locale >&2
fi

# Unix socket in the data directory (the Debian default /var/run/postgresql may not exist);
# settings for a disposable test server: no fsync, small shared memory.
as_owner "$PGBIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p ${PORT} -c unix_socket_directories='${DATA}' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >&2

echo "$URL"
