#!/usr/bin/env bash
# Long reliability runs (issue #7). Prints markdown rows | bench | figure | unit | note |:
#   reliability_kill_points: `line run` SIGKILLed at random moments while RELIABILITY_FEED
#     (default 300) simulated tokens pass, resumed each time (RELIABILITY_KILLS, default 150,
#     per mode), in both modes: host-generated seeds and sealed seeds (--sealed-to); the row
#     is the sum, each mode's line in the note;
#   reliability_bank_*: the SQLite bank under BANK_LOAD_SCALE (default 4) times the test load.
# The same tests run small in ./scripts/test; a failure here is a failure there too.
set -euo pipefail
cd "$(dirname "$0")/../.."
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
RELIABILITY_FEED=${RELIABILITY_FEED:-300} RELIABILITY_KILLS=${RELIABILITY_KILLS:-150} RELIABILITY_BUDGET_S=900 \
  cargo test -q -p tokenline --test reliability_crash -- --nocapture >"$W/crash.out" 2>&1 \
  || { tail -40 "$W/crash.out" >&2; exit 1; }
line=$(grep -o 'FIGURE crash: .*' "$W/crash.out" | head -1)
sealed=$(grep -o 'FIGURE crash-sealed: .*' "$W/crash.out" | head -1)
kills=$(sed -E 's/.*crash: ([0-9]+) kill points.*/\1/' <<<"$line")
skills=$(sed -E 's/.*crash-sealed: ([0-9]+) kill points.*/\1/' <<<"$sealed")
echo "| reliability_kill_points | $((kills + skills)) | kill points | ${line#FIGURE crash: }; ${sealed#FIGURE crash-sealed: } |"
BANK_LOAD_SCALE=${BANK_LOAD_SCALE:-4} cargo test -q -p lifecycle-sqlite --test prop_concurrency -- --nocapture --test-threads 1 >"$W/load.out" 2>&1 \
  || { tail -40 "$W/load.out" >&2; exit 1; }
grep -o 'FIGURE bank-load .*' "$W/load.out" | while read -r _ _ what rest; do
  rate=$(grep -oE '\(([0-9]+)/s\)' <<<"$rest" | tr -d '()/s' || true)
  echo "| reliability_bank_${what%:} | ${rate:--} | ops/s | $rest (debug build) |"
done
