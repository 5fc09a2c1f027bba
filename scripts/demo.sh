#!/usr/bin/env bash
# The demo (npm run demo): start the built-in AWS sandbox with a few thousand
# recovery points, run rpcopyd against it over real HTTP, show its progress
# through rpctl, then the plan, then stop everything. Nothing outside
# .demo/ is written; the sandbox and the daemon are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
POINTS="${DEMO_POINTS:-3000}"
DIR="$PWD/.demo"
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

[ -f dist/daemon/main.js ] || npm run --silent build
rm -rf "$DIR" && mkdir -p "$DIR"

node dist/test/sandbox/main.js --points "$POINTS" --seed 1 --out "$DIR" > "$DIR/sandbox.out" 2> "$DIR/sandbox.log" &
SANDBOX=$!
DAEMON=""
cleanup() {
  [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null || true
  kill "$SANDBOX" 2>/dev/null && wait "$SANDBOX" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do [ -s "$DIR/sandbox.out" ] && break; sleep 0.1; done
[ -s "$DIR/sandbox.out" ] || { echo "the sandbox did not start; see $DIR/sandbox.log"; exit 1; }
# shellcheck disable=SC1091
. "$DIR/sandbox.env"
echo "sandbox: $POINTS recovery points in 12 vaults at $AWS_ENDPOINT_URL (files in $DIR)"

rpctl() { node dist/ctl/main.js "$@"; }
node dist/daemon/main.js --config "$RPCOPY_CONFIG" > "$DIR/rpcopyd.log" 2>&1 &
DAEMON=$!
echo "rpcopyd: pid $DAEMON, log in $DIR/rpcopyd.log"
for _ in $(seq 1 100); do [ -S "$DIR/state/rpcopyd.sock" ] && break; sleep 0.1; done

while :; do
  if ! kill -0 "$DAEMON" 2>/dev/null; then echo "rpcopyd exited early; its log:"; tail -20 "$DIR/rpcopyd.log"; exit 1; fi
  status="$(rpctl status --json)"
  line="$(node -e '
    const s = JSON.parse(process.argv[1]);
    const c = s.counts;
    console.log(`${s.state.padEnd(8)} phase ${s.phase.padEnd(9)} vaults ${s.inventory.vaultsDone}/${s.inventory.vaultsSelected}  points ${c.discovered}  to copy ${c.queued + c.inFlight + c.completed + c.failed}  skipped ${c.skipped}`);
  ' "$status")"
  echo "  $line"
  case "$line" in done*|*"phase done"*) break ;; esac
  case "$line" in paused*)
    echo "  paused: $(node -e 'console.log(JSON.parse(process.argv[1]).pauseDetail ?? "")' "$status")"
    break ;;
  esac
  sleep 1
done

echo
rpctl plan
echo
rpctl stop
wait "$DAEMON" && DAEMON=""
echo "rpcopyd stopped cleanly. The store is $DIR/state/rpcopy.db; run 'npm run demo' again for a fresh start."
