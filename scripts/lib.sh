# Shared by scripts/test and scripts/run: make sure the toolchain and Debian packages are there.

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

# install_packages PKG...: apt-get installs whichever are missing (one update, only if needed).
install_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "==> installing ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# wait_listening FILE WHAT: up to 30 s for a server's "listening on" line in FILE (its standard
# error); if it never comes, says WHAT did not start, shows FILE and returns 1.
wait_listening() {
    for _ in $(seq 1 300); do grep -q "listening on" "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "$2 did not start:" >&2; cat "$1" >&2; return 1
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The newest PostgreSQL server binaries Debian installed.
postgres_bin() {
    ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1
}

# start_postgres DIR PORT [MAX_CONNECTIONS]: a throwaway PostgreSQL with its data in DIR/pg (socket
# and log in DIR/sock) on 127.0.0.1:PORT, run as the postgres user (it refuses root). Durable, as
# in production: fsync and synchronous_commit stay on (the defaults). stop_postgres DIR stops it.
start_postgres() {
    local dir=$1 port=$2 max=${3:-200} bin
    bin=$(postgres_bin)
    mkdir -p "$dir/pg" "$dir/sock" && chown -R postgres:postgres "$dir/pg" "$dir/sock"
    runuser -u postgres -- "$bin/initdb" -D "$dir/pg" -U postgres -A trust >/dev/null
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/pg" -l "$dir/sock/pg.log" -w \
        -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c max_connections=$max -c shared_buffers=512MB" start >/dev/null
}

# stop_postgres DIR: stops a PostgreSQL that start_postgres DIR started, if it runs.
stop_postgres() {
    [ -f "$1/pg/postmaster.pid" ] && runuser -u postgres -- "$(postgres_bin)/pg_ctl" -D "$1/pg" -m fast stop >/dev/null 2>&1
    return 0
}
