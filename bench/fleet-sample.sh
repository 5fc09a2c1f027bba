#!/usr/bin/env bash
# Memory and CPU of one running rpcopyd over a span: `bash bench/fleet-sample.sh PID SECONDS`.
# CPU is the process's user+system time (all its threads: main, workers, readers) over the wall time;
# memory is its resident set at the end (VmRSS) and its peak so far (VmHWM). Linux /proc only.
set -euo pipefail
pid="$1"; seconds="${2:-60}"
ticks="$(getconf CLK_TCK)"
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
start_cpu="$(cpu)"; start="$(date +%s.%N)"
sleep "$seconds"
end_cpu="$(cpu)"; end="$(date +%s.%N)"
rss="$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")"
hwm="$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")"
threads="$(awk '/Threads/ {print $2}' "/proc/$pid/status")"
awk -v c0="$start_cpu" -v c1="$end_cpu" -v t0="$start" -v t1="$end" -v hz="$ticks" -v rss="$rss" -v hwm="$hwm" -v th="$threads" \
  'BEGIN { printf "cpu %.1f %% of one core over %.0f s; rss %.0f MiB; peak rss %.0f MiB; threads %d\n", (c1 - c0) / hz / (t1 - t0) * 100, t1 - t0, rss / 1024, hwm / 1024, th }'
