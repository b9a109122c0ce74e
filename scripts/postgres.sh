# shellcheck shell=bash
# Sourced by scripts/test and scripts/demo: makes sure DATABASE_URL points at
# a PostgreSQL that answers.
#   1. DATABASE_URL, when set;
#   2. else a local server at 127.0.0.1:5432 (user postgres, trust auth);
#   3. else a throwaway cluster started from the PostgreSQL server binaries on
#      PATH (or /usr/lib/postgresql/*/bin), run as a non-root user when we are
#      root, removed again on exit;
#   4. else one line saying what to install, and exit 1.

pg_answers() {
    # Usage: pg_answers URL. True when a server accepts a connection.
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -d "$1" -t 3
    elif command -v psql >/dev/null 2>&1; then
        psql "$1" -qAtc 'select 1' >/dev/null 2>&1
    else
        # No client tools: at least see whether the port is open.
        local hostport
        hostport=$(printf '%s' "$1" | sed -E 's#^[a-z]+://([^@/]*@)?([^/:]+)(:([0-9]+))?.*#\2 \4#')
        set -- $hostport
        timeout 3 bash -c "exec 3<>/dev/tcp/$1/${2:-5432}" 2>/dev/null
    fi
}

find_pg_bin() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

start_throwaway_postgres() {
    local bin dir port owner run
    if ! bin=$(find_pg_bin); then
        echo "error: no PostgreSQL reachable and no server binaries found; install PostgreSQL (e.g. apt-get install postgresql) or set DATABASE_URL" >&2
        exit 1
    fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/serverpulse-pg.XXXXXX")
    port=${SERVERPULSE_PG_PORT:-55432}
    run=()
    if [ "$(id -u)" = 0 ]; then
        # initdb refuses to run as root.
        owner=$(id -un postgres 2>/dev/null || echo nobody)
        chown "$owner" "$dir"
        run=(runuser -u "$owner" --)
    fi
    echo "starting a throwaway PostgreSQL in $dir on port $port" >&2
    "${run[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
        || { echo "error: initdb failed, see $dir/initdb.log" >&2; exit 1; }
    "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
        || { echo "error: the throwaway PostgreSQL did not start, see $dir/server.log" >&2; exit 1; }
    SERVERPULSE_PG_STOP=("${run[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop)
    SERVERPULSE_PG_DIR=$dir
    trap 'stop_throwaway_postgres' EXIT
    export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

stop_throwaway_postgres() {
    if [ -n "${SERVERPULSE_PG_DIR:-}" ]; then
        "${SERVERPULSE_PG_STOP[@]}" >/dev/null 2>&1 || true
        rm -rf "$SERVERPULSE_PG_DIR"
    fi
}

ensure_postgres() {
    if [ -n "${DATABASE_URL:-}" ]; then
        pg_answers "$DATABASE_URL" && return 0
        echo "error: DATABASE_URL is set but no PostgreSQL answers there" >&2
        exit 1
    fi
    local local_url=${SERVERPULSE_LOCAL_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
    if pg_answers "$local_url"; then
        export DATABASE_URL=$local_url
        return 0
    fi
    start_throwaway_postgres
}
