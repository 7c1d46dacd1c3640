#!/usr/bin/env bash
# Runs every test of NA64.Hw on a fresh machine that has the .NET SDK, and prints the totals.
# Installs what the tests need first (nothing beyond the SDK and NuGet today: the pty tests use
# posix_openpt from libc, which every Linux has).
set -uo pipefail
cd "$(dirname "$0")"
log=$(mktemp)
dotnet test NA64.Hw.sln --nologo -v:q -p:TreatWarningsAsErrors=true 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
# Sum the per-assembly summaries ("Passed!  - Failed: 0, Passed: 12, Skipped: 0, Total: 12").
read -r passed failed skipped < <(grep -E '(Passed|Failed)! +- +Failed: +[0-9]+' "$log" | sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/\2 \1 \3/' \
  | awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
rm -f "$log"
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then echo "no test ran"; rc=1; fi
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi   # a build failure counts as a failure
if [ "$skipped" -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
exit "$rc"
