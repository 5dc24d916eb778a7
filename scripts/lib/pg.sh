# Throwaway PostgreSQL clusters for tests and benchmarks (issue #16). Source this file, then:
#   pg_start [--durable]   initdb into a new temporary directory, start on 127.0.0.1 on a free
#                          port, export TOKENLINE_TEST_PG_URL (superuser URL with a random
#                          password) and TOKENLINE_PG_DIR; tests (fsync off) unless --durable.
#   pg_stop                stop the cluster started by pg_start and delete its directory.
#   pg_restart             stop and start the same cluster (data kept).
#   pg_server stop|start   stop or start it (data kept), e.g. to test a database outage.
# PostgreSQL refuses to run as root: as root the server runs as the unprivileged `postgres`
# user (Debian's package creates it). Callers put `trap pg_stop EXIT` right after pg_start so
# the cluster goes away even when a test fails.

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  echo "pg: initdb not found: install Debian's postgresql package (./scripts/setup does)" >&2
  return 1
}

# Runs a command as the cluster's owner.
pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pg_start() {
  local durable=0
  [ "${1:-}" = "--durable" ] && durable=1
  local bin port dir pw
  bin=$(pg_bindir) || return 1
  dir=$(mktemp -d /tmp/tokenline-pg.XXXXXX)
  chmod 700 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  printf '%s\n' "$pw" >"$dir/pwfile"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pwfile"
  pg_as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=scram-sha-256 --pwfile="$dir/pwfile" \
    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; return 1; }
  rm -f "$dir/pwfile"
  port=$(pg_free_port)
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$dir'"
    echo "max_connections = 300"
    echo "shared_buffers = 128MB"
    if [ "$durable" = 0 ]; then
      # A throwaway test cluster: durability is not what the tests measure.
      echo "fsync = off"
      echo "full_page_writes = off"
    fi
  } >>"$dir/data/postgresql.conf"
  export TOKENLINE_PG_DIR="$dir" TOKENLINE_PG_BIN="$bin"
  pg_as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
    || { cat "$dir/server.log" >&2; pg_stop; return 1; }
  export TOKENLINE_TEST_PG_URL="postgres://postgres:$pw@127.0.0.1:$port/postgres"
  echo "pg: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data $dir/data)" >&2
}

# pg_server stop|start: stop (fast) or start the cluster of pg_start, keeping its data.
pg_server() {
  local mode=()
  [ "$1" = stop ] && mode=(-m fast)
  pg_as_owner "$TOKENLINE_PG_BIN/pg_ctl" -D "$TOKENLINE_PG_DIR/data" -l "$TOKENLINE_PG_DIR/server.log" -w -t 60 "${mode[@]}" "$1" >/dev/null
}

pg_restart() {
  pg_as_owner "$TOKENLINE_PG_BIN/pg_ctl" -D "$TOKENLINE_PG_DIR/data" -l "$TOKENLINE_PG_DIR/server.log" -w -t 60 restart >/dev/null
}

pg_stop() {
  [ -n "${TOKENLINE_PG_DIR:-}" ] && [ -d "$TOKENLINE_PG_DIR/data" ] || return 0
  pg_as_owner "$TOKENLINE_PG_BIN/pg_ctl" -D "$TOKENLINE_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$TOKENLINE_PG_DIR"
  unset TOKENLINE_PG_DIR TOKENLINE_TEST_PG_URL
}
