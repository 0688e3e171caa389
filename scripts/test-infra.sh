#!/usr/bin/env bash
# The servers the integration tests need: RabbitMQ (127.0.0.1:5672, guest/guest), PostgreSQL 15 (127.0.0.1:5432,
# role agents/agents, superuser) and an S3 server (http://127.0.0.1:7480, minioadmin/minioadmin).
#
#   scripts/test-infra.sh up      start what is not running (reuses servers that already answer), idempotent
#   scripts/test-infra.sh down    stop only what `up` started (recorded in $STATE/started); leaves the rest alone
#   scripts/test-infra.sh status  what answers, and who started it; exit 1 if something is down
#   scripts/test-infra.sh env     the export lines the tests read: eval "$(scripts/test-infra.sh env)"
# AGENTS_TEST_INFRA_SERVERS="postgres s3" limits `up` to some servers (default: rabbitmq postgres s3).
#
# How servers are started (AGENTS_TEST_INFRA=auto|native|docker, default auto):
#   native  Debian packages, installed with apt-get if missing (root or passwordless sudo, no systemd needed):
#           rabbitmq-server, postgresql-15, and Ceph radosgw as the S3 server (scripts/ceph-s3-up.sh).
#   docker  containers rabbitmq:3-management, postgres:15 and minio/minio, when a Docker engine answers `docker info`.
#   auto    native where it can start or install the server, else docker, else it says exactly what is missing.
# It also makes a Docker engine and the project's images ready (scripts/docker-up.sh: the durability tests' broker
# container, the compose stage, `docker-compose config`; AGENTS_TEST_DOCKER=skip leaves it out) and installs Debian's
# `chromium` (the browser tests drive /usr/bin/chromium headless, or $AGENTS_TEST_CHROMIUM; a browser is never downloaded).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${AGENTS_TEST_INFRA_STATE:-$REPO/.data/test-infra}
STARTED=$STATE/started
MODE=${AGENTS_TEST_INFRA:-auto}
# Which servers `up` manages (a subset is handy when you only need one).
SERVERS=" ${AGENTS_TEST_INFRA_SERVERS:-rabbitmq postgres s3} "
# Short and outside the repo: Ceph's admin sockets live here and unix socket paths are limited to 107 bytes.
S3_DIR=${AGENTS_TEST_S3_DIR:-/tmp/agents-test-infra-s3}

PG_ROLE=agents PG_PASSWORD=agents PG_DB=agents
RABBIT_PORT=5672 PG_PORT=5432 S3_PORT=7480
S3_KEY=minioadmin S3_SECRET=minioadmin
C_RABBIT=agents-test-rabbitmq C_PG=agents-test-postgres C_S3=agents-test-minio

log() { echo "test-infra: $*" >&2; }
die() { log "$*"; exit 1; }

# ---------------------------------------------------------------- helpers
wants() { [[ "$SERVERS" == *" $1 "* ]]; }
is_root() { [ "$(id -u)" = 0 ]; }
can_sudo() { is_root || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; }
# Servers started from here must not inherit the lock (fd 9): a daemon holding it would block every later run.
as_root() { if is_root; then "$@" 9>&-; else sudo -n "$@" 9>&-; fi; }
have() { command -v "$1" >/dev/null 2>&1; }
can_apt() { have apt-get && can_sudo; }
docker_ok() { have docker && docker info >/dev/null 2>&1; }

tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# wait_for <seconds> <what> <command...>
wait_for() {
  local secs=$1 what=$2; shift 2
  for _ in $(seq 1 "$secs"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  log "$what did not become ready within ${secs}s"
  return 1
}

record() { mkdir -p "$STATE"; touch "$STARTED"; grep -qxF "$1" "$STARTED" || echo "$1" >> "$STARTED"; }
unrecord() { [ -f "$STARTED" ] && { grep -vxF "$1" "$STARTED" > "$STARTED.tmp" || true; mv "$STARTED.tmp" "$STARTED"; }; }
recorded() { [ -f "$STARTED" ] && grep -qxF "$1" "$STARTED"; }

APT_UPDATED=0
apt_update_once() {
  [ "$APT_UPDATED" = 1 ] && return 0
  log "apt-get update"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$STATE/apt.log" 2>&1 || { cat "$STATE/apt.log" >&2; die "apt-get update failed"; }
  APT_UPDATED=1
}
apt_install() {
  mkdir -p "$STATE"
  apt_update_once
  log "apt-get install $*"
  # LANG: the cluster postgresql's package creates takes its encoding from the locale (UTF-8, as the services need).
  as_root env DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 apt-get install -y -qq --no-install-recommends "$@" >"$STATE/apt.log" 2>&1 \
    || { tail -n 30 "$STATE/apt.log" >&2; die "apt-get install $* failed"; }
}
# A fresh machine has no package lists; apt-get install needs them.
ensure_apt_lists() {
  can_apt || return 0
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then apt_update_once; fi
}

# ---------------------------------------------------------------- probes
rabbit_up() { tcp_open 127.0.0.1 "$RABBIT_PORT"; }
rabbit_ready() {
  if recorded "docker:$C_RABBIT"; then docker exec "$C_RABBIT" rabbitmq-diagnostics -q check_port_connectivity
  elif have rabbitmq-diagnostics && can_sudo; then as_root rabbitmq-diagnostics -q check_port_connectivity
  else rabbit_up; fi
}
pg_up() { if have pg_isready; then pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; else tcp_open 127.0.0.1 "$PG_PORT"; fi; }
pg_login_ok() {
  if have psql; then PGPASSWORD=$PG_PASSWORD psql -h 127.0.0.1 -p "$PG_PORT" -U "$PG_ROLE" -d "$PG_DB" -Atqc 'select 1' >/dev/null 2>&1
  else pg_up; fi
}
# Any HTTP answer means something serves S3 there (MinIO answers / with 403, radosgw with 200).
s3_up() { local code; code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$S3_PORT/" 2>/dev/null || true); [ -n "$code" ] && [ "$code" != 000 ]; }
s3_ready() {
  if recorded "docker:$C_S3"; then curl -sf -o /dev/null --max-time 3 "http://127.0.0.1:$S3_PORT/minio/health/live"
  else curl -sf -o /dev/null --max-time 3 "http://127.0.0.1:$S3_PORT/"; fi
}

chromium_path() { echo "${AGENTS_TEST_CHROMIUM:-/usr/bin/chromium}"; }
chromium_ok() { [ -x "$(chromium_path)" ] && "$(chromium_path)" --version >/dev/null 2>&1; }

# ---------------------------------------------------------------- native starts
start_rabbit_native() {
  if ! have rabbitmq-server; then
    apt_install rabbitmq-server
    # Some machines start the server from the package's postinst; then we caused it, so we stop it on `down`.
    if rabbit_up; then record rabbitmq; wait_for 60 RabbitMQ rabbit_ready; return; fi
  fi
  log "starting RabbitMQ (rabbitmq-server -detached)"
  as_root rabbitmq-server -detached >"$STATE/rabbitmq.log" 2>&1 || { cat "$STATE/rabbitmq.log" >&2; die "rabbitmq-server -detached failed"; }
  record rabbitmq
  wait_for 90 RabbitMQ rabbit_ready || die "see /var/log/rabbitmq/"
}

start_pg_native() {
  if ! have pg_ctlcluster || [ ! -x /usr/lib/postgresql/15/bin/postgres ]; then
    apt_install postgresql-15 postgresql-client-15
    if pg_up; then record postgres; return; fi
  fi
  if [ -z "$(pg_lsclusters -h 2>/dev/null | awk '$1==15 && $2=="main"')" ]; then
    log "creating cluster 15/main"
    as_root pg_createcluster --encoding=UTF8 --locale=C.UTF-8 15 main >"$STATE/postgres.log" 2>&1 || { cat "$STATE/postgres.log" >&2; die "pg_createcluster 15 main failed"; }
  fi
  log "starting PostgreSQL (pg_ctlcluster 15 main start)"
  as_root pg_ctlcluster 15 main start >"$STATE/postgres.log" 2>&1 || { cat "$STATE/postgres.log" >&2; die "pg_ctlcluster 15 main start failed"; }
  record postgres
  wait_for 30 PostgreSQL pg_up || die "see /var/log/postgresql/"
}

# Over TCP PostgreSQL asks for a password (scram), so the tests need a role that has one.
ensure_pg_role() {
  pg_login_ok && return 0
  if can_sudo && id postgres >/dev/null 2>&1 && have psql; then
    log "creating role $PG_ROLE (SUPERUSER LOGIN) and database $PG_DB if missing"
    (cd / && as_root runuser -u postgres -- psql -p "$PG_PORT" -v ON_ERROR_STOP=1 -qc \
      "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_ROLE') THEN CREATE ROLE $PG_ROLE SUPERUSER LOGIN PASSWORD '$PG_PASSWORD'; END IF; END \$\$;") >&2 \
      || die "could not create the PostgreSQL role $PG_ROLE"
    if [ "$(cd / && as_root runuser -u postgres -- psql -p "$PG_PORT" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
      (cd / && as_root runuser -u postgres -- createdb -p "$PG_PORT" -O "$PG_ROLE" -E UTF8 --locale=C.UTF-8 -T template0 "$PG_DB") >&2 || die "could not create database $PG_DB"
    fi
  fi
  pg_login_ok || die "PostgreSQL on 127.0.0.1:$PG_PORT refuses $PG_ROLE/$PG_PASSWORD on database $PG_DB (and this script cannot fix that: it needs root on the server's machine, or create it yourself: CREATE ROLE $PG_ROLE SUPERUSER LOGIN PASSWORD '$PG_PASSWORD'; CREATE DATABASE $PG_DB OWNER $PG_ROLE;)"
}

start_s3_native() {
  if ! have radosgw || ! have ceph-mon || ! have ceph-osd || ! have ceph; then
    apt_install ceph-mon ceph-osd radosgw ceph-common
  fi
  log "starting S3 (Ceph radosgw, in memory, state in $S3_DIR)"
  # Recorded before it runs: if it fails half-way, `down` still stops the daemons it did start.
  record s3
  as_root env D="$S3_DIR" S3_PORT="$S3_PORT" S3_ACCESS_KEY="$S3_KEY" S3_SECRET_KEY="$S3_SECRET" \
    "$REPO/scripts/ceph-s3-up.sh" >"$STATE/s3.log" 2>&1 || { tail -n 30 "$STATE/s3.log" >&2; die "scripts/ceph-s3-up.sh failed (logs: $S3_DIR/log/)"; }
  wait_for 30 S3 s3_ready
}

# ---------------------------------------------------------------- docker starts
# docker_start <name> <ready-command...> -- <docker run args...>
docker_start() {
  local name=$1; shift
  if [ -n "$(docker ps -aq --filter "name=^${name}\$")" ]; then
    log "starting existing container $name"
    docker start "$name" >/dev/null 9>&-
  else
    log "docker run $name"
    docker run -d --name "$name" "$@" >/dev/null 9>&-
  fi
  record "docker:$name"
}
start_rabbit_docker() {
  docker_start "$C_RABBIT" -p "$RABBIT_PORT:5672" -p 15672:15672 rabbitmq:3-management
  wait_for 90 RabbitMQ rabbit_ready || die "docker logs $C_RABBIT"
}
start_pg_docker() {
  docker_start "$C_PG" -p "$PG_PORT:5432" -e POSTGRES_USER="$PG_ROLE" -e POSTGRES_PASSWORD="$PG_PASSWORD" -e POSTGRES_DB="$PG_DB" postgres:15
  wait_for 60 PostgreSQL docker exec "$C_PG" pg_isready -q -h 127.0.0.1 -U "$PG_ROLE" || die "docker logs $C_PG"
  wait_for 30 PostgreSQL pg_login_ok || die "docker logs $C_PG"
}
start_s3_docker() {
  docker_start "$C_S3" -p "$S3_PORT:9000" -e MINIO_ROOT_USER="$S3_KEY" -e MINIO_ROOT_PASSWORD="$S3_SECRET" minio/minio server /data
  wait_for 60 S3 s3_ready || die "docker logs $C_S3"
}

# ---------------------------------------------------------------- up
MISSING=()

# pick <name> <native-binary> -> prints native|docker, or records what is missing and prints nothing
pick() {
  local name=$1 bin=$2
  case "$MODE" in
    native) if have "$bin" || can_apt; then echo native; return; fi ;;
    docker) if docker_ok; then echo docker; return; fi ;;
    auto) if have "$bin" && can_sudo || can_apt; then echo native; return; fi
          if docker_ok; then echo docker; return; fi ;;
  esac
  local why=()
  if [ "$MODE" != docker ]; then
    if have "$bin"; then why+=("$bin is installed but starting it needs root or passwordless sudo")
    elif ! have apt-get; then why+=("$bin is not installed and there is no apt-get to install it")
    else why+=("$bin is not installed and apt-get needs root or passwordless sudo"); fi
  fi
  if [ "$MODE" != native ]; then
    if have docker; then why+=("'docker info' fails (no Docker engine reachable)"); else why+=("no docker command"); fi
  fi
  local joined=${why[0]} i
  for ((i = 1; i < ${#why[@]}; i++)); do joined+="; ${why[i]}"; done
  MISSING+=("$name: not running, and $joined")
}

cmd_up() {
  mkdir -p "$STATE"; touch "$STARTED"
  ensure_apt_lists

  if wants rabbitmq; then
    if rabbit_up; then log "RabbitMQ answers on 127.0.0.1:$RABBIT_PORT: reusing it"
    else case "$(pick RabbitMQ rabbitmq-server)" in native) start_rabbit_native ;; docker) start_rabbit_docker ;; esac; fi
  fi

  if wants postgres; then
    if pg_up; then log "PostgreSQL answers on 127.0.0.1:$PG_PORT: reusing it"
    else case "$(pick PostgreSQL pg_ctlcluster)" in native) start_pg_native ;; docker) start_pg_docker ;; esac; fi
    if pg_up; then ensure_pg_role; fi
  fi

  if wants s3; then
    if s3_up; then
      log "S3 answers on http://127.0.0.1:$S3_PORT: reusing it"
      # Our radosgw keeps objects in memory and frees deleted ones only on garbage collection: without it, repeated
      # test runs on one machine fill its 2 GiB and PUTs start to hang.
      if [ -f "$S3_DIR/ceph.conf" ] && have radosgw-admin; then
        timeout 60 radosgw-admin -c "$S3_DIR/ceph.conf" gc process --include-all >/dev/null 2>&1 9>&- || log "warning: radosgw garbage collection failed"
      fi
    else case "$(pick S3 radosgw)" in native) start_s3_native ;; docker) start_s3_docker ;; esac; fi
  fi

  # `pick` ran in a subshell above, so what is missing is worked out again here.
  MISSING=()
  if wants rabbitmq && ! rabbit_up; then pick RabbitMQ rabbitmq-server >/dev/null; fi
  if wants postgres && ! pg_up; then pick PostgreSQL pg_ctlcluster >/dev/null; fi
  if wants s3 && ! s3_up; then pick S3 radosgw >/dev/null; fi

  # A Docker engine and the project's images (the durability tests run their broker in a container, the compose
  # stage runs docker-compose.yml); built locally where they cannot be pulled. dockerd must not inherit the lock (fd 9).
  if [ "${AGENTS_TEST_DOCKER:-}" != skip ]; then
    "$REPO/scripts/docker-up.sh" 9>&- || die "the Docker engine or the project's images could not be made ready (see above)"
  fi

  # The console's browser tests (tests/Console.Tests) drive Debian's Chromium; a failed install fails `up`.
  if ! chromium_ok; then
    if [ -n "${AGENTS_TEST_CHROMIUM:-}" ]; then die "AGENTS_TEST_CHROMIUM=$AGENTS_TEST_CHROMIUM is not an executable browser"; fi
    if can_apt; then apt_install chromium; else die "chromium is missing and apt-get needs root or passwordless sudo: apt-get install chromium"; fi
    chromium_ok || die "apt-get install chromium did not provide $(chromium_path)"
  fi
  # The MCP servers the tool tests connect to (tests/mcp-servers: npm packages, run with node). npm ci again only
  # when the lock file changed since the last install.
  if ! have node || ! have npm; then
    if can_apt; then apt_install nodejs npm; else die "node and npm are missing and apt-get needs root or passwordless sudo: apt-get install nodejs npm"; fi
  fi
  local mcp=$REPO/tests/mcp-servers
  if ! cmp -s "$mcp/package-lock.json" "$mcp/node_modules/.installed-lock" 2>/dev/null; then
    log "installing the test MCP servers (npm ci in tests/mcp-servers)"
    (cd "$mcp" && npm ci --no-audit --no-fund --loglevel=error 9>&-) || die "npm ci in tests/mcp-servers failed (see above)"
    cp "$mcp/package-lock.json" "$mcp/node_modules/.installed-lock"
  fi

  # strace: the embedded default's test records every connect() it makes (it must open none to the outside).
  if ! command -v strace >/dev/null 2>&1; then
    if can_apt; then apt_install strace; else die "strace is missing and apt-get needs root or passwordless sudo: apt-get install strace"; fi
  fi

  if [ ${#MISSING[@]} -gt 0 ]; then
    log "cannot start the test servers:"
    for m in "${MISSING[@]}"; do log "  - $m"; done
    log "install the Debian packages as root (rabbitmq-server postgresql-15 ceph-mon ceph-osd radosgw ceph-common), or run a Docker engine, or start the servers yourself on the addresses above"
    exit 1
  fi
  log "ready:$(wants rabbitmq && echo " RabbitMQ 127.0.0.1:$RABBIT_PORT")$(wants postgres && echo " PostgreSQL 127.0.0.1:$PG_PORT")$(wants s3 && echo " S3 http://127.0.0.1:$S3_PORT")"
}

# ---------------------------------------------------------------- down
stop_one() {
  case "$1" in
    rabbitmq) log "stopping RabbitMQ"; as_root rabbitmqctl shutdown >/dev/null 2>&1 || log "rabbitmqctl shutdown failed (already stopped?)" ;;
    postgres) log "stopping PostgreSQL 15/main"; as_root pg_ctlcluster 15 main stop >/dev/null 2>&1 || log "pg_ctlcluster 15 main stop failed (already stopped?)" ;;
    s3)
      log "stopping S3 (Ceph daemons in $S3_DIR)"
      local pids=() pid f
      for f in "$S3_DIR"/run/*.pid; do
        [ -e "$f" ] || continue
        pid=$(cat "$f")
        # Only the daemons started with this directory's ceph.conf: a pid file may be stale and the pid reused.
        if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$S3_DIR/ceph.conf"; then pids+=("$pid"); fi
      done
      if [ ${#pids[@]} -gt 0 ]; then
        as_root kill "${pids[@]}" 2>/dev/null || true
        for _ in $(seq 1 15); do
          local alive=0
          for pid in "${pids[@]}"; do [ -d "/proc/$pid" ] && alive=1; done
          [ "$alive" = 0 ] && break
          sleep 1
        done
        for pid in "${pids[@]}"; do [ -d "/proc/$pid" ] && as_root kill -9 "$pid" 2>/dev/null || true; done
      fi
      as_root rm -rf "$S3_DIR"
      ;;
    docker:*) log "removing container ${1#docker:}"; docker rm -f "${1#docker:}" >/dev/null 2>&1 || true ;;
    *) log "unknown entry '$1' in $STARTED: ignored" ;;
  esac
  unrecord "$1"
}

cmd_down() {
  if [ ! -s "$STARTED" ]; then log "nothing to stop: this script started no server (running servers are left alone)"; return 0; fi
  # Reverse order of starting.
  local entries; mapfile -t entries < <(tac "$STARTED")
  for e in "${entries[@]}"; do [ -n "$e" ] && stop_one "$e"; done
  log "done; servers this script did not start were left alone"
}

# ---------------------------------------------------------------- status / env
who() {
  if recorded "$1" || recorded "docker:$2"; then echo "started by test-infra"; else echo "not started by test-infra: left alone by down"; fi
}
cmd_status() {
  local ok=0
  if rabbit_up; then echo "rabbitmq    up    127.0.0.1:$RABBIT_PORT  ($(who rabbitmq "$C_RABBIT"))"; else echo "rabbitmq    down  127.0.0.1:$RABBIT_PORT"; ok=1; fi
  if pg_up; then
    local login="role $PG_ROLE ok"; pg_login_ok || { login="role $PG_ROLE/$PG_PASSWORD REFUSED"; ok=1; }
    echo "postgres    up    127.0.0.1:$PG_PORT  $login  ($(who postgres "$C_PG"))"
  else echo "postgres    down  127.0.0.1:$PG_PORT"; ok=1; fi
  if s3_up; then echo "s3          up    http://127.0.0.1:$S3_PORT  ($(who s3 "$C_S3"))"; else echo "s3          down  http://127.0.0.1:$S3_PORT"; ok=1; fi
  if have docker-compose; then echo "compose     $(docker-compose version --short 2>/dev/null || echo present) (docker-compose)"
  elif have docker && docker compose version >/dev/null 2>&1; then echo "compose     docker compose plugin"
  else echo "compose     missing (apt-get install docker-compose)"; ok=1; fi
  if chromium_ok; then echo "chromium    $("$(chromium_path)" --version 2>/dev/null | head -n 1) ($(chromium_path))"
  else echo "chromium    missing $(chromium_path) (apt-get install chromium)"; ok=1; fi
  return $ok
}

cmd_env() {
  # Values already in the environment win, so a developer can point the tests at other servers.
  local pg=${AGENTS_TEST_PG:-Host=127.0.0.1;Port=$PG_PORT;Username=$PG_ROLE;Password=$PG_PASSWORD;Database=postgres}
  printf "export AGENTS_TEST_PG='%s'\n" "$pg"
  printf "export AGENTS_TEST_RABBIT_HOST='%s'\n" "${AGENTS_TEST_RABBIT_HOST:-127.0.0.1}"
  printf "export AGENTS_TEST_S3_URL='%s'\n" "${AGENTS_TEST_S3_URL:-http://127.0.0.1:$S3_PORT}"
  printf "export AGENTS_TEST_S3_ACCESS_KEY='%s'\n" "${AGENTS_TEST_S3_ACCESS_KEY:-$S3_KEY}"
  printf "export AGENTS_TEST_S3_SECRET_KEY='%s'\n" "${AGENTS_TEST_S3_SECRET_KEY:-$S3_SECRET}"
  printf "export AGENTS_TEST_MCP_SERVERS='%s'\n" "${AGENTS_TEST_MCP_SERVERS:-$REPO/tests/mcp-servers/node_modules/@modelcontextprotocol}"
  # Testcontainers' resource reaper (ryuk) is an image that cannot be pulled here; the tests remove their containers.
  printf "export TESTCONTAINERS_RYUK_DISABLED='%s'\n" "${TESTCONTAINERS_RYUK_DISABLED:-true}"
}

# Two `up`s at once (e.g. two terminals) must not both start a server.
with_lock() {
  mkdir -p "$STATE"
  if have flock; then exec 9>"$STATE/lock"; flock -w 300 9 || die "another test-infra.sh holds $STATE/lock"; fi
  "$@"
}

case "$MODE" in auto|native|docker) ;; *) die "AGENTS_TEST_INFRA must be auto, native or docker (not '$MODE')" ;; esac

case "${1:-}" in
  up) with_lock cmd_up ;;
  down) with_lock cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) echo "usage: $0 {up|down|status|env}" >&2; exit 2 ;;
esac
