#!/usr/bin/env bash
# Fails when a package the solution uses — directly or transitively — has a known vulnerability of high or critical
# severity (NuGet's advisory database, through `dotnet list package --vulnerable --include-transitive`). Lower
# severities are printed, not fatal. Needs the NuGet feed (api.nuget.org), as restore does; run after a restore.
#   scripts/vulnerable-packages.sh [solution]     (default Agents.Micro.slnx)
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
SOLUTION=${1:-Agents.Micro.slnx}

OUT=$(dotnet list "$SOLUTION" package --vulnerable --include-transitive 2>&1)
RC=$?
if [ $RC -ne 0 ] || grep -qiE '^\s*error|unable to load the service index|failed to retrieve' <<<"$OUT"; then
  echo "$OUT"
  echo "vulnerable-packages: the advisory check could not run (exit $RC); it needs the NuGet feed"
  exit 1
fi
# Rows of the report look like: "   > Some.Package   1.0.0   1.0.0   High   https://github.com/advisories/…"; a package's
# further advisories follow on lines of their own (no ">"), so every line naming a severity before a link counts.
FOUND=$(grep -E '\s(Low|Moderate|High|Critical)\s+https?://' <<<"$OUT" || true)
if [ -n "$FOUND" ]; then echo "$FOUND"; fi
if grep -qE '\s(High|Critical)\s' <<<"$FOUND"; then
  echo "vulnerable-packages: high or critical advisories above: update those packages (Directory.Packages.props)"
  exit 1
fi
echo "vulnerable-packages: no high or critical advisory in $(grep -c 'given project' <<<"$OUT") projects (direct and transitive)"
