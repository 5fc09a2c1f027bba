#!/usr/bin/env bash
# The test command (npm test): builds the binaries the end-to-end tests spawn,
# then runs tap over every test file (or the files given) and prints the plain
# summary line CI reads, followed by every failed assertion. Exit code is tap's.
#
# A whole-suite run that fails in one or two files runs those files once more,
# alone and without coverage. The end-to-end files drive real daemons, sandboxes
# and SIGKILLs on a shared two-core machine, and a rare timing loss in one of
# 3,800 assertions should not throw away a run; but a flake is still a finding,
# so the first run's failures are printed last, under "flaky:", for the closing
# note. A file that fails again, or three files failing, fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

if [ "$#" -gt 0 ]; then
  npx tap "$@" 2>&1 | node scripts/tap-summary.mjs
  exit
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
npx tap 2>&1 | node scripts/tap-summary.mjs --failed-files "$work/failed" | tee "$work/log" || status=$?
[ "$status" -eq 0 ] && exit 0

mapfile -t failed < "$work/failed"
if [ "${#failed[@]}" -lt 1 ] || [ "${#failed[@]}" -gt 2 ]; then
  exit "$status"
fi
# A failure outside any test file (the runner's own) has nothing to run again.
for file in "${failed[@]}"; do
  [ -f "$file" ] || exit "$status"
done
echo
echo "retrying once, alone and without coverage: ${failed[*]}"
npx tap --disable-coverage "${failed[@]}" 2>&1 | node scripts/tap-summary.mjs || exit "$status"
echo
echo "flaky: failed in the whole run, passed when run again alone. The whole run's failures:"
sed -n '/^tap: /,$p' "$work/log" | sed 's/^/flaky: /'
