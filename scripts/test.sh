#!/usr/bin/env bash
# The test command (npm test): builds the binaries the end-to-end tests spawn,
# then runs tap over every test file (or the files given) and prints the plain
# summary line CI reads. Exit code is tap's.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
npx tap "$@" 2>&1 | node scripts/tap-summary.mjs
