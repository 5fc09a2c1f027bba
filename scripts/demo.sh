#!/usr/bin/env bash
# The demo (npm run demo): start the built-in AWS sandbox with a few thousand
# recovery points, run rpcopyd against it over real HTTP and copy every
# eligible point end to end (inventory, metadata, plan, preflight, destination
# vaults, canaries, copy jobs, verification), showing progress through rpctl,
# then the plan, a status summary and a reconciliation against AWS's records.
# Copy jobs run 20,000x faster than real ones (the sandbox's time factor), so
# the whole backlog takes a few minutes. Nothing outside .demo/ is written; the
# sandbox and the daemon are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
POINTS="${DEMO_POINTS:-3000}"
DIR="$PWD/.demo"
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

[ -f dist/daemon/main.js ] || npm run --silent build
rm -rf "$DIR" && mkdir -p "$DIR"

# StartCopyJob's real rate is unpublished; the demo lets the sandbox (and rpcopy, below) go at 20/s.
node dist/test/sandbox/main.js --points "$POINTS" --seed 1 --out "$DIR" --time-factor 20000 \
  --knobs '{"throttling":{"rates":{"StartCopyJob":20}}}' > "$DIR/sandbox.out" 2> "$DIR/sandbox.log" &
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
sed -i 's/^max_in_flight = .*/max_in_flight = 100\nstart_rate = 15/' "$RPCOPY_CONFIG"
printf '\n[vaults]\nconfirm_compliance_lock = true\n' >> "$RPCOPY_CONFIG"

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
    const copy = s.copy ? `  window ${s.copy.window}  canaries ${s.copy.canaries.open}/${s.copy.canaries.open + s.copy.canaries.pending + s.copy.canaries.probing + s.copy.canaries.failed}` : "";
    console.log(`${s.state.padEnd(8)} phase ${s.phase.padEnd(9)} points ${c.discovered}  skipped ${c.skipped}  queued ${c.queued}  in flight ${c.inFlight}  copied ${c.completed}  failed ${c.failed}${copy}`);
  ' "$status")"
  echo "  $line"
  case "$line" in done*|*"phase done"*) break ;; esac
  case "$line" in paused*)
    echo "  paused: $(node -e 'console.log(JSON.parse(process.argv[1]).pauseDetail ?? "")' "$status")"
    break ;;
  esac
  sleep 2
done

echo
rpctl plan
echo
rpctl status
echo
echo "Reconciliation against AWS's own records (copy jobs and destination vault listings):"
rpctl reconcile || true
echo
rpctl stop
wait "$DAEMON" && DAEMON=""
echo "rpcopyd stopped cleanly. The store is $DIR/state/rpcopy.db; run 'npm run demo' again for a fresh start."
