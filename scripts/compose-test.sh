#!/usr/bin/env bash
# The production topology, run for real: builds the images, brings docker-compose.yml up unchanged with three
# workers, runs tests/Compose.Tests against it through the gateway's published port (health, tokens, an end-to-end
# task with an approval, files, memory, SSE, worker kills and scaling, broker and database restarts, the tracing
# dashboard in a real browser), prints the figures, and tears everything down (containers, volumes, networks)
# whatever happens. scripts/test.sh runs it as its own stage; it also runs alone:
#
#   scripts/compose-test.sh
#
# scripts/docker-up.sh installs Docker Engine, docker-compose and debootstrap from Debian when missing, starts dockerd
# when none answers, and builds local stand-ins for images that cannot be pulled (scripts/standins.sh; reused later).
# The only addition to docker-compose.yml is scripts/compose-test.override.yml (build.network: host).
#
# Knobs: AGENTS_TEST_RESULTS (results folder; the TRX, logs, screenshots and figures go to its Compose.Tests/),
#        AGENTS_COMPOSE_PROJECT (compose project name, default agents-ci), AGENTS_COMPOSE_KEEP=1 (leave it running).
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
RESULTS=${AGENTS_TEST_RESULTS:-$REPO/TestResults/latest}/Compose.Tests
PROJECT=${AGENTS_COMPOSE_PROJECT:-agents-ci}
STATE=$REPO/.data/compose-test
CONFIGURATION=${CONFIGURATION:-Debug}
WORKERS=3

say() { echo "compose-test: $*"; }
fail() { say "$*"; echo 1 > "$RESULTS/exit-code"; exit 1; }
now() { date +%s; }
rm -rf "$RESULTS"; mkdir -p "$RESULTS" "$STATE"
FIGURES=$RESULTS/figures.txt
: > "$FIGURES"
figure() { echo "$*" | tee -a "$FIGURES"; }

# `docker compose` (v2) where the plugin exists, else docker-compose 1.x (Debian's); set once Docker is ready.
COMPOSE=()
compose() { "${COMPOSE[@]}" "$@"; }
COMPOSE_ARGS=(-p "$PROJECT" -f docker-compose.yml -f scripts/compose-test.override.yml --env-file "$STATE/compose.env")

teardown() {
  local rc=$?
  if [ "${AGENTS_COMPOSE_KEEP:-}" = 1 ]; then
    say "AGENTS_COMPOSE_KEEP=1: leaving project $PROJECT running (secrets in $STATE/compose.env)"
    echo "$rc" > "$RESULTS/exit-code"
    return
  fi
  if [ -f "$STATE/compose.env" ] && [ ${#COMPOSE[@]} -gt 0 ]; then
    compose "${COMPOSE_ARGS[@]}" logs --no-color --timestamps >"$RESULTS/compose.log" 2>&1 || true
    say "tearing down (containers, volumes, networks)"
    compose "${COMPOSE_ARGS[@]}" down -v --remove-orphans --timeout 10 >"$STATE/down.log" 2>&1 \
      || { cat "$STATE/down.log"; rc=1; }
    # The earlier builds' images of the services, replaced by this run's.
    docker image prune -f --filter "label!=agents-micro.standin" >/dev/null 2>&1 || true
  fi
  rm -f "$STATE/compose.env"
  [ -s "$FIGURES" ] && { echo; say "figures"; sed 's/^/  /' "$FIGURES"; }
  echo "$rc" > "$RESULTS/exit-code"
}
trap teardown EXIT

T0=$(now)
timeout 30m scripts/docker-up.sh || fail "no Docker engine, or the images docker-compose.yml needs are missing (see above)"
if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
scripts/standins.sh --list | sed 's/^/  /'
figure "Docker engine and base images ready (installed/built or reused): $(( $(now) - T0 ))s"

# Fresh secrets for this run, in the variables .env.example documents.
hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
ADMIN_TOKEN=am_$(hex 32)
DASHBOARD_TOKEN=$(hex 24)
(umask 077; : > "$STATE/compose.env")
cat >> "$STATE/compose.env" <<ENV
AGENTS_INTERNAL_KEY=$(hex 32)
AGENTS_ADMIN_TOKEN_SHA256=$(printf %s "$ADMIN_TOKEN" | sha256sum | cut -d' ' -f1)
AGENTS_ADMIN_USER=admin
AGENTS_DASHBOARD_TOKEN=$DASHBOARD_TOKEN
AGENTS_OTLP_API_KEY=$(hex 24)
POSTGRES_PASSWORD=$(hex 12)
RABBITMQ_PASSWORD=$(hex 12)
MINIO_ROOT_PASSWORD=$(hex 12)
ENV

# Whatever an earlier, interrupted run left behind.
compose "${COMPOSE_ARGS[@]}" down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || true

export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0
T=$(now)
say "building the service images"
timeout 20m "${COMPOSE[@]}" "${COMPOSE_ARGS[@]}" build >"$RESULTS/build.log" 2>&1 || { tail -n 40 "$RESULTS/build.log"; fail "docker-compose build failed"; }
figure "service images built: $(( $(now) - T ))s"
for image in gateway task-api agent-worker file-service memory-service; do
  figure "image agents-micro/$image: $(docker image inspect -f '{{.Size}}' "agents-micro/$image" | awk '{printf "%.0f MB", $1/1e6}')"
done

T=$(now)
say "docker-compose up -d --scale agent-worker=$WORKERS"
timeout 10m "${COMPOSE[@]}" "${COMPOSE_ARGS[@]}" up -d --scale "agent-worker=$WORKERS" >"$RESULTS/up.log" 2>&1 || { tail -n 40 "$RESULTS/up.log"; fail "docker-compose up failed"; }
# Healthy = every container with a health check reports healthy, the others run (or, like minio-init, exited 0).
all_healthy() {
  local line bad=0
  while read -r line; do
    case "$line" in
      *" healthy "*|*" running none "*|*" exited none 0") ;;
      *) bad=1 ;;
    esac
  done < <(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" | xargs -r docker inspect \
             -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.ExitCode}}')
  return $bad
}
for _ in $(seq 1 180); do all_healthy && break; sleep 1; done
if ! all_healthy; then
  docker ps -a --filter "label=com.docker.compose.project=$PROJECT" --format '  {{.Names}}: {{.Status}}'
  fail "not every container became healthy within 180 s (logs: ${RESULTS#"$REPO"/}/compose.log)"
fi
figure "up to all healthy: $(( $(now) - T ))s"

# ---------------------------------------------------------------- the checks
if [ ! -f "tests/Compose.Tests/bin/$CONFIGURATION/net10.0/Agents.Micro.Compose.Tests.dll" ]; then
  dotnet build tests/Compose.Tests -c "$CONFIGURATION" -nologo -v:q >"$RESULTS/test-build.log" 2>&1 \
    || { tail -n 30 "$RESULTS/test-build.log"; fail "building tests/Compose.Tests failed"; }
fi
export AGENTS_COMPOSE_PROJECT=$PROJECT
export AGENTS_COMPOSE_FILES="docker-compose.yml:scripts/compose-test.override.yml"
export AGENTS_COMPOSE_ENV_FILE=$STATE/compose.env
export AGENTS_COMPOSE_GATEWAY=http://127.0.0.1:8091
export AGENTS_COMPOSE_DASHBOARD=http://127.0.0.1:18888
export AGENTS_COMPOSE_ADMIN_TOKEN=$ADMIN_TOKEN
export AGENTS_COMPOSE_DASHBOARD_TOKEN=$DASHBOARD_TOKEN
export AGENTS_COMPOSE_FIGURES=$FIGURES
export AGENTS_COMPOSE_ARTIFACTS=$RESULTS
say "running tests/Compose.Tests"
T=$(now)
FILTER_ARGS=()
if [ -n "${AGENTS_TEST_FILTER:-}" ]; then FILTER_ARGS=(--filter "$AGENTS_TEST_FILTER"); fi
timeout --kill-after=30s 20m dotnet test tests/Compose.Tests --no-build -c "$CONFIGURATION" -nologo "${FILTER_ARGS[@]}" \
  --logger "trx;LogFileName=Compose.Tests.trx" --results-directory "$RESULTS" \
  --blame-hang-timeout 8m --blame-hang-dump-type none </dev/null >"$RESULTS/output.log" 2>&1
rc=$?
say "tests/Compose.Tests finished (exit $rc) in $(( $(now) - T ))s"
exit $rc
