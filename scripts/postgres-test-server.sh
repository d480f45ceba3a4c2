#!/usr/bin/env bash
# A throwaway PostgreSQL server for the PostgreSQL state store's tests, on 127.0.0.1 only.
#
#   url="$(bash scripts/postgres-test-server.sh start [DIR])"    # prints the database URL
#   export CRMHUB_TEST_POSTGRES_URL="$url"; bash scripts/test.sh
#   bash scripts/postgres-test-server.sh stop DIR
#
# `start` installs Debian's postgresql package when no server is installed (as root, with apt-get),
# creates a cluster in DIR (a new temporary folder when DIR is omitted), starts it on a free port
# with its Unix socket inside DIR, creates the database crmhub_test, and prints its URL on stdout
# (everything else goes to stderr). Run again on the same DIR, it prints the URL of the server
# running there, or starts it again. Authentication is `trust`: this server is for tests only.
# As root the cluster belongs to the `postgres` user, because initdb refuses to run as root.
#
# `stop` stops the server of DIR and removes what `start` put there (then DIR itself, if empty).
set -euo pipefail

DATABASE=crmhub_test
SUPERUSER=postgres

say() { echo "postgres-test-server: $*" >&2; }
die() { say "$*"; exit 1; }

server_bin() {
    # The newest installed server's binaries (Debian keeps them out of PATH).
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
        echo "$dir"
    fi
}

install_server() {
    [[ "$(id -u)" == 0 ]] || die "PostgreSQL is not installed and installing it needs root: apt-get install postgresql"
    say "installing Debian's postgresql package"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
}

as_owner() {
    # Run a server command as the cluster's owner, from DIR (the owner may not enter the caller's folder).
    if [[ "$(id -u)" == 0 ]]; then
        (cd "$DIR" && runuser -u postgres -- "$@")
    else
        (cd "$DIR" && "$@")
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

running() {
    [[ -f "$DIR/data/postmaster.pid" ]] && as_owner "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1
}

url() {
    echo "postgresql://$SUPERUSER@127.0.0.1:$(cat "$DIR/port")/$DATABASE"
}

start() {
    BIN="$(server_bin)"
    if [[ -z "$BIN" ]]; then
        install_server
        BIN="$(server_bin)"
        [[ -n "$BIN" ]] || die "the postgresql package installed no server binaries under /usr/lib/postgresql"
    fi
    DIR="${1:-$(mktemp -d -t crmhub-postgres.XXXXXX)}"
    mkdir -p "$DIR/socket"
    DIR="$(cd "$DIR" && pwd)"
    if [[ "$(id -u)" == 0 ]]; then
        chown postgres: "$DIR" "$DIR/socket"
    fi
    if running; then
        url
        return
    fi
    if [[ ! -f "$DIR/data/PG_VERSION" ]]; then
        say "creating a cluster in $DIR/data"
        as_owner "$BIN/initdb" -D "$DIR/data" -U "$SUPERUSER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >&2
    fi
    local attempt
    for attempt in 1 2 3; do  # a port found free can be taken before the server binds it
        free_port >"$DIR/port"
        if as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/data/server.log" -w -t 60 \
            -o "-p $(cat "$DIR/port") -k $DIR/socket -c listen_addresses=127.0.0.1" start >&2; then
            break
        fi
        [[ $attempt == 3 ]] && die "the server did not start; see $DIR/data/server.log"
    done
    local port
    port="$(cat "$DIR/port")"
    if [[ -z "$(as_owner "$BIN/psql" -h 127.0.0.1 -p "$port" -U "$SUPERUSER" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" ]]; then
        as_owner "$BIN/createdb" -h 127.0.0.1 -p "$port" -U "$SUPERUSER" "$DATABASE"
    fi
    say "running on 127.0.0.1:$port; stop it with: bash scripts/postgres-test-server.sh stop $DIR"
    url
}

stop() {
    DIR="${1:?usage: postgres-test-server.sh stop DIR}"
    [[ -d "$DIR" ]] || return 0
    BIN="$(server_bin)"
    if [[ -n "$BIN" ]] && running; then
        as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >&2
    fi
    rm -rf "${DIR:?}/data" "${DIR:?}/socket" "${DIR:?}/port"
    rmdir "$DIR" 2>/dev/null || true
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    *) die "usage: postgres-test-server.sh start [DIR] | stop DIR" ;;
esac
