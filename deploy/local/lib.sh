# shellcheck shell=bash
# The variables below are used by the scripts that source this file.
# shellcheck disable=SC2034
# Shared settings and helpers for deploy/local/{up,down}. Sourced, not run.
#
# Every knob is an environment variable so that a second, throw-away instance
# can run beside the machine's own servers (e.g. for testing these scripts):
#   KESOS_LOCAL_STATE           state dir: PID file, logs, markers, JetStream store
#                               (default /var/lib/kesos-local)
#   KESOS_LOCAL_PG_PORT         PostgreSQL port on 127.0.0.1 (default 5432)
#   KESOS_LOCAL_NATS_PORT       NATS client port on 127.0.0.1 (default 4222)
#   KESOS_LOCAL_NATS_HTTP_PORT  NATS monitoring port on 127.0.0.1 (default 8222)
#   KESOS_LOCAL_WAIT            seconds to wait for a server to answer (default 30)

KESOS_LOCAL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KESOS_REPO_ROOT=$(cd "$KESOS_LOCAL_DIR/../.." && pwd)

KESOS_LOCAL_STATE=${KESOS_LOCAL_STATE:-/var/lib/kesos-local}
KESOS_LOCAL_HOST=127.0.0.1
KESOS_LOCAL_PG_PORT=${KESOS_LOCAL_PG_PORT:-5432}
KESOS_LOCAL_NATS_PORT=${KESOS_LOCAL_NATS_PORT:-4222}
KESOS_LOCAL_NATS_HTTP_PORT=${KESOS_LOCAL_NATS_HTTP_PORT:-8222}
KESOS_LOCAL_WAIT=${KESOS_LOCAL_WAIT:-30}

NATS_CONF="$KESOS_REPO_ROOT/deploy/nats/local.conf"
NATS_PID_FILE="$KESOS_LOCAL_STATE/nats.pid"
NATS_LOG_FILE="$KESOS_LOCAL_STATE/nats.log"
NATS_STORE_DIR="$KESOS_LOCAL_STATE/nats"
# Written by `up` only when it started (or created) a PostgreSQL cluster itself;
# holds "<version> <cluster-name>". `down` stops that cluster and nothing else.
PG_MARKER_FILE="$KESOS_LOCAL_STATE/postgres.started-by-kesos"

log() { printf '[kesos-local] %s\n' "$*"; }
die() { printf '[kesos-local] ERROR: %s\n' "$*" >&2; exit 1; }

is_root() { [[ $(id -u) -eq 0 ]]; }

# tcp_open PORT: true if something accepts TCP connections on 127.0.0.1:PORT.
# Runs in a child bash so a failed /dev/tcp redirection cannot trip `set -e`.
tcp_open() {
    # shellcheck disable=SC2016 # $1/$2 expand in the child bash
    timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$KESOS_LOCAL_HOST" "$1" 2>/dev/null
}

# nats_info PORT: prints the INFO line a NATS server sends on connect (empty
# output and non-zero status if nothing or something else answers).
nats_info() {
    # shellcheck disable=SC2016 # $1/$2/$line expand in the child bash
    timeout 5 bash -c '
        exec 3<>"/dev/tcp/$1/$2" || exit 1
        IFS= read -r -t 3 line <&3 || exit 1
        case $line in INFO*) printf "%s\n" "$line" ;; *) exit 1 ;; esac
    ' _ "$KESOS_LOCAL_HOST" "$1" 2>/dev/null
}

# pg_answers PORT: true if PostgreSQL accepts connections on 127.0.0.1:PORT.
pg_answers() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$KESOS_LOCAL_HOST" -p "$1" -t 3
    else
        tcp_open "$1"
    fi
}

# pid_is_our_nats PID: true if PID is alive and is a nats-server that `up`
# started for this state dir (its command line names our PID file).
# Guards against killing an unrelated process that reused a stale PID.
pid_is_our_nats() {
    local pid=$1 cmdline
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmdline == *nats-server* && $cmdline == *" -P $NATS_PID_FILE "* ]]
}
