#!/usr/bin/env bash
# The whole test suite, from a fresh clone: starts the servers the tests need (scripts/test-infra.sh up), builds the
# solution once, runs every test project under tests/, and ends with exactly one summary line:
#   tests: N passed, N failed, N skipped
# Exit status is non-zero when the servers cannot be started, the build fails, a test fails or a test run aborts,
# or no test ran at all.
#
# Knobs (environment):
#   CONFIGURATION=Debug|Release       build configuration (default Debug; exported to tests as AGENTS_BUILD_CONFIGURATION)
#   AGENTS_TEST_PARALLEL=2            test projects run at once (each runs its own tests in parallel too)
#   AGENTS_TEST_FILTER=...            passed to `dotnet test --filter` (e.g. "FullyQualifiedName~Deployment")
#   AGENTS_TEST_HANG_TIMEOUT=5m       a single test running longer than this aborts its project's run
#   AGENTS_TEST_PROJECT_TIMEOUT=15m   a whole project's run is killed after this
#   AGENTS_TEST_INFRA=skip            do not start servers (point AGENTS_TEST_* at your own instead)
#   AGENTS_TEST_RESULTS=<dir>         where TRX files and logs go (default TestResults/latest, emptied first)
#   AGENTS_TEST_COMPOSE=skip          leave out the docker-compose stage (scripts/compose-test.sh); refused in CI
#
# Stages: the build, the dependency advisory check (scripts/vulnerable-packages.sh), the test projects (two at a time),
# then the production topology: scripts/compose-test.sh builds the images,
# brings docker-compose.yml up with three workers and runs tests/Compose.Tests against it (its own stage because it
# owns the machine's Docker engine and ports 8091/18888 while it runs).
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
SOLUTION=Agents.Micro.slnx
CONFIGURATION=${CONFIGURATION:-Debug}
PARALLEL=${AGENTS_TEST_PARALLEL:-2}
HANG_TIMEOUT=${AGENTS_TEST_HANG_TIMEOUT:-5m}
PROJECT_TIMEOUT=${AGENTS_TEST_PROJECT_TIMEOUT:-15m}
RESULTS=${AGENTS_TEST_RESULTS:-$REPO/TestResults/latest}

PASSED=0 FAILED=0 SKIPPED=0
# The summary is always the last line, whatever path the script leaves by.
trap 'rc=$?; echo "tests: $PASSED passed, $FAILED failed, $SKIPPED skipped"; exit $rc' EXIT

say() { echo "test.sh: $*"; }
fail() { say "$*"; exit 1; }
elapsed() { echo "$(( $(date +%s) - $1 ))s"; }
START=$(date +%s)

# ---------------------------------------------------------------- test projects
command -v dotnet >/dev/null 2>&1 || fail "the dotnet command is missing: install the .NET 10 SDK (see global.json)"
[ -f "$SOLUTION" ] || fail "$SOLUTION not found in $REPO"
mapfile -t PROJECTS < <(grep -o 'Path="tests/[^"]*\.csproj"' "$SOLUTION" | sed 's/^Path="//; s/"$//' | sort)
# A test project missing from the solution would never be built or run: refuse rather than pass silently.
for p in tests/*/*.csproj; do
  [ -e "$p" ] || continue
  [[ " ${PROJECTS[*]} " == *" $p "* ]] \
    || fail "$p is not in $SOLUTION, so it would never run: dotnet sln $SOLUTION add $p"
done
[ ${#PROJECTS[@]} -gt 0 ] || fail "no test projects: $SOLUTION lists no tests/*/*.csproj"
for p in "${PROJECTS[@]}"; do [ -f "$p" ] || fail "$SOLUTION lists $p, which does not exist"; done
# Projects that a stage of their own runs, against what that stage starts.
COMPOSE_PROJECT=tests/Compose.Tests/Compose.Tests.csproj
RUN_COMPOSE=1
if [ "${AGENTS_TEST_COMPOSE:-}" = skip ]; then
  [ -z "${CI:-}" ] || fail "AGENTS_TEST_COMPOSE=skip is not allowed in CI: the compose stage is part of the suite"
  RUN_COMPOSE=0
elif [ -n "${AGENTS_TEST_FILTER:-}" ] && [[ "$AGENTS_TEST_FILTER" != *Compose* ]]; then
  RUN_COMPOSE=0
fi
LOOP_PROJECTS=()
for p in "${PROJECTS[@]}"; do [ "$p" = "$COMPOSE_PROJECT" ] || LOOP_PROJECTS+=("$p"); done
if [ "$RUN_COMPOSE" = 0 ]; then PROJECTS=("${LOOP_PROJECTS[@]}"); fi

# ---------------------------------------------------------------- servers
if [ "${AGENTS_TEST_INFRA:-}" = skip ]; then
  say "AGENTS_TEST_INFRA=skip: not starting servers"
else
  scripts/test-infra.sh up || fail "the servers the tests need could not be started (see above)"
fi
eval "$(scripts/test-infra.sh env)"
export AGENTS_BUILD_CONFIGURATION=$CONFIGURATION
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# ---------------------------------------------------------------- build once
# In CI no build server may outlive the run (they keep the job's output pipe open).
BUILD_SERVERS=()
if [ -n "${CI:-}" ]; then BUILD_SERVERS=(--disable-build-servers); fi
say "building $SOLUTION ($CONFIGURATION)"
T=$(date +%s)
dotnet build "$SOLUTION" -c "$CONFIGURATION" -nologo -v:minimal -clp:NoSummary "${BUILD_SERVERS[@]}" \
  || fail "build failed (see the errors above)"
say "build done in $(elapsed "$T")"
# Known vulnerabilities (high or critical) in any package, direct or transitive, fail the run.
scripts/vulnerable-packages.sh "$SOLUTION" || fail "a dependency has a high or critical advisory, or the check could not run (see above)"

# ---------------------------------------------------------------- run the projects
rm -rf "$RESULTS"; mkdir -p "$RESULTS"
# One project: its own results folder and log. It runs in its own process group so that whatever it leaves behind
# (servers a test started and never stopped, a hung test host) is ended afterwards and cannot disturb the next one.
run_project() {
  local proj=$1 name dir t0 rc pgid
  name=$(basename "$proj" .csproj)
  dir=$RESULTS/$name
  mkdir -p "$dir"
  t0=$(date +%s)
  setsid --wait bash -c 'echo $$ > "$0/pgid"; exec "$@"' "$dir" \
    timeout --kill-after=30s "$PROJECT_TIMEOUT" \
    dotnet test "$proj" --no-build -c "$CONFIGURATION" -nologo \
      --logger "trx;LogFileName=$name.trx" --results-directory "$dir" \
      --blame-hang-timeout "$HANG_TIMEOUT" --blame-hang-dump-type none "${FILTER_ARGS[@]}" "${BUILD_SERVERS[@]}" \
      </dev/null >"$dir/output.log" 2>&1
  rc=$?
  echo "$rc" > "$dir/exit-code"
  pgid=$(cat "$dir/pgid" 2>/dev/null || true)
  if [ -n "$pgid" ] && pgrep -g "$pgid" >/dev/null 2>&1; then
    echo "  ($name left processes running: ending process group $pgid)"
    kill -TERM -- "-$pgid" 2>/dev/null; sleep 2; kill -KILL -- "-$pgid" 2>/dev/null
  fi
  echo "  finished $name (exit $rc) in $(elapsed "$t0")"
}
export -f run_project elapsed
export RESULTS CONFIGURATION HANG_TIMEOUT PROJECT_TIMEOUT
# Arrays do not cross `export`; pass the filter through a plain variable.
export AGENTS_TEST_FILTER=${AGENTS_TEST_FILTER:-}
run_project_entry() {
  if [ -n "$AGENTS_TEST_FILTER" ]; then FILTER_ARGS=(--filter "$AGENTS_TEST_FILTER"); else FILTER_ARGS=(); fi
  if [ -n "${CI:-}" ]; then BUILD_SERVERS=(--disable-build-servers); else BUILD_SERVERS=(); fi
  run_project "$1"
}
export -f run_project_entry

say "running ${#LOOP_PROJECTS[@]} test project(s), $PARALLEL at a time: ${LOOP_PROJECTS[*]}"
T=$(date +%s)
printf '%s\n' "${LOOP_PROJECTS[@]}" | xargs -P "$PARALLEL" -I{} bash -c 'run_project_entry "$1"' _ {}
say "test runs done in $(elapsed "$T")"
# Containers a test run left behind when it was killed (Testcontainers labels its own; its reaper cannot run here).
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  docker ps -aq --filter label=org.testcontainers=true | xargs -r docker rm -fv >/dev/null 2>&1 || true
fi

# ---------------------------------------------------------------- the production topology (docker-compose)
if [ "$RUN_COMPOSE" = 1 ]; then
  say "compose stage: scripts/compose-test.sh"
  T=$(date +%s)
  AGENTS_TEST_RESULTS=$RESULTS scripts/compose-test.sh </dev/null
  say "compose stage done in $(elapsed "$T")"
else
  say "compose stage left out (AGENTS_TEST_COMPOSE=skip or a filter without Compose)"
fi

# ---------------------------------------------------------------- results
# Counters of one TRX file: "total executed passed failed". xunit.v3 via VSTest writes skipped tests as
# total - executed (notExecuted stays 0).
counter() { grep -o "<Counters [^>]*>" "$1" | head -n 1 | grep -o " $2=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
unxml() { sed 's/&quot;/"/g; s/&apos;/'"'"'/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g'; }

FAILED_PROJECTS=()
echo
printf '%-40s %7s %7s %7s  %s\n' project passed failed skipped result
for proj in "${PROJECTS[@]}"; do
  name=$(basename "$proj" .csproj)
  dir=$RESULTS/$name
  rc=$(cat "$dir/exit-code" 2>/dev/null || echo 255)
  p=0 f=0 s=0
  shopt -s nullglob
  trxs=("$dir"/*.trx "$dir"/*/*.trx)
  shopt -u nullglob
  for trx in "${trxs[@]}"; do
    total=$(counter "$trx" total); executed=$(counter "$trx" executed)
    p=$((p + $(counter "$trx" passed))); f=$((f + $(counter "$trx" failed))); s=$((s + total - executed))
  done
  status=ok
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
    # The run ended badly without a failed test to show for it (crash, hang, timeout, no TRX): count it as one.
    f=1; status="ABORTED (exit $rc)"
  elif [ "$f" != 0 ]; then status=FAILED
  elif [ $((p + s)) = 0 ]; then status="no tests"
  fi
  printf '%-40s %7d %7d %7d  %s\n' "$name" "$p" "$f" "$s" "$status"
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f)); SKIPPED=$((SKIPPED + s))
  if [ "$status" != ok ] && [ "$status" != "no tests" ]; then FAILED_PROJECTS+=("$name"); fi
done

for name in "${FAILED_PROJECTS[@]}"; do
  dir=$RESULTS/$name
  echo
  echo "=== $name: failures (full log: ${dir#"$REPO"/}/output.log)"
  shopt -s nullglob
  for trx in "$dir"/*.trx "$dir"/*/*.trx; do
    grep -o '<UnitTestResult [^>]*outcome="Failed"' "$trx" | grep -o 'testName="[^"]*"' | sed 's/^testName="/  FAILED /; s/"$//' | unxml
  done
  shopt -u nullglob
  grep -q "The active test run was aborted" "$dir/output.log" 2>/dev/null \
    && grep -A3 "The test running when the crash occurred" "$dir/output.log"
  # The log without stack frames and progress lines (both stay in output.log).
  grep -vE '^[[:space:]]+at |^\[xUnit\.net|^--- End of stack trace' "$dir/output.log" > "$dir/output.short.log" 2>/dev/null || true
  lines=$(wc -l < "$dir/output.short.log")
  if [ "$lines" -le 300 ]; then cat "$dir/output.short.log"
  else head -n 100 "$dir/output.short.log"; echo "  ... ($((lines - 250)) lines omitted) ..."; tail -n 150 "$dir/output.short.log"; fi
done

echo
say "total time $(elapsed "$START"); results in ${RESULTS#"$REPO"/}"
if [ "$FAILED" -gt 0 ]; then exit 1; fi
if [ $((PASSED + FAILED)) = 0 ]; then say "no test ran"; exit 1; fi
exit 0
