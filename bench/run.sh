#!/usr/bin/env bash
# The benchmark suite (issue #11): builds Release, makes sure RabbitMQ, PostgreSQL and the S3 server run
# (scripts/test-infra.sh up), runs every scenario on the distributed setup and the embedded default, and writes
# bench/results/latest.md and latest.json.
#   bench/run.sh                   full run (BENCH_DURATION=10 s per timed phase, 100,000 memories, 1 GiB upload)
#   BENCH_QUICK=1 bench/run.sh     smoke run (< 2 min; smaller sizes)
#   BENCH_ONLY=dispatch,throughput bench/run.sh    some scenarios (baselines warmup dispatch throughput delivery cancel gateway files memory embedded)
#   BENCH_ENV="Worker__EventFlushMs=0" bench/run.sh   pass settings to every service (before/after runs)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

scripts/test-infra.sh up >&2
eval "$(scripts/test-infra.sh env)"

echo "bench: building Release" >&2
# Standalone references every service, so this builds all of them into services/*/bin/Release.
dotnet build -c Release -nologo -v q services/Standalone/Standalone.csproj >&2
dotnet build -c Release -nologo -v q bench/Agents.Micro.Bench/Agents.Micro.Bench.csproj >&2

export BENCH_COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo '+dirty')"
# The radosgw test store is in memory and frees deleted data only on garbage collection: start the file scenarios clean.
S3_CONF=${AGENTS_TEST_S3_DIR:-/tmp/agents-test-infra-s3}/ceph.conf
if [ -f "$S3_CONF" ] && command -v radosgw-admin >/dev/null; then radosgw-admin -c "$S3_CONF" gc process --include-all >&2 || true; fi

exec dotnet bench/Agents.Micro.Bench/bin/Release/net10.0/Agents.Micro.Bench.dll "$@"
