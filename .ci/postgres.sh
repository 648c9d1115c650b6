#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster on a free loopback port and exports
# BOOTH_TEST_PG_URL for the server tests. Source it: `. .ci/postgres.sh`.
# Works as root (runs the server as the `postgres` user) or as an ordinary user.
set -euo pipefail

pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pg_dir=$(mktemp -d /tmp/booth-pg.XXXXXX)

run_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres:postgres "$pg_dir"
    su postgres -s /bin/sh -c "$*"
  else
    sh -c "$*"
  fi
}

run_pg "$pg_bin/initdb -D $pg_dir/data -U postgres --auth=trust --encoding=UTF8 --locale=C >$pg_dir/initdb.log 2>&1"
run_pg "$pg_bin/pg_ctl -D $pg_dir/data -l $pg_dir/server.log -w -o '-p $port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200' start >/dev/null"
run_pg "$pg_bin/psql -h 127.0.0.1 -p $port -U postgres -qc 'CREATE DATABASE booth_test'"

export BOOTH_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/booth_test"
export BOOTH_TEST_PG_DIR="$pg_dir"
echo "PostgreSQL ready at $BOOTH_TEST_PG_URL"
