#!/usr/bin/env bash
# Factory line throughput: tokens/minute for 1 and 16 stations against `tokenline sim --baud
# 115200`, beside the limit the bytes on the wire allow at that baud rate (10 bits per byte,
# request and response of identify, provision, set time, read display, lock); and otp-core
# HOTP computations per second. Prints markdown table rows (see scripts/bench).
# Sealed mode (`--sealed-to`, issue #12: the token generates and seals its own seed; two
# display readings in different time steps instead of one) is measured beside it.
set -euo pipefail
cd "$(dirname "$0")/../.."

BAUD=115200
TARGET=${CARGO_TARGET_DIR:-target}
if [ -z "${TOKENLINE_BIN:-}" ]; then
  cargo build --release -q -p tokenline >&2
  TOKENLINE_BIN="$TARGET/release/tokenline"
fi
bytes=$(cargo run --release -q -p provision --example wire_bytes | awk '/bytes_per_token/ {print $2}')

work=$(mktemp -d)
simpid=""
cleanup() {
  if [ -n "$simpid" ]; then kill "$simpid" 2>/dev/null || true; wait "$simpid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# run_line STATIONS TOKENS [extra line run args] -> prints tokens/minute measured by `line run`
run_line() {
  local stations=$1 tokens=$2 dir="$work/s$1${3:+-sealed}"
  mkdir -p "$dir"
  "$TOKENLINE_BIN" sim --tokens "$stations" --feed "$tokens" --baud "$BAUD" --swap-pause-ms 0 \
    --state-dir "$dir/sim" --json --ready-file "$dir/ready" >/dev/null 2>"$dir/sim.log" &
  simpid=$!
  for _ in $(seq 1 300); do
    [ -s "$dir/ready" ] && [ "$(wc -l <"$dir/ready")" -ge "$stations" ] && break
    sleep 0.1
  done
  local ports=()
  while read -r dev; do ports+=(--port "$dev"); done < <(sed -n 's/.*"device":"\([^"]*\)".*/\1/p' "$dir/ready")
  local out
  out=$("$TOKENLINE_BIN" line run --batch "BENCH-$stations" --serials "$((10000000 + stations * 100000 + 1))-$((10000000 + stations * 100000 + 99999))" \
    --expiry "$(date -u -d '+5 years' +%Y-%m-%d)" --journal "$dir/journal" --registry "$dir/registry.sqlite" "${ports[@]}" \
    --count "$tokens" --idle-timeout 10 "${@:3}" 2>/dev/null)
  kill "$simpid" 2>/dev/null || true; wait "$simpid" 2>/dev/null || true; simpid=""
  echo "$out" | sed -n 's/.*(\([0-9.]*\) tokens\/min).*/\1/p' | head -1
}

limit_per_station=$(awk -v b="$bytes" -v baud="$BAUD" 'BEGIN { printf "%.0f", 60 * baud / (b * 10) }')

one=$(run_line 1 40)
echo "| line, 1 station | $one | tokens/min | sim --baud $BAUD, swap pause 0; wire limit $limit_per_station tokens/min ($bytes bytes/token) |"
sixteen=$(run_line 16 160)
echo "| line, 16 stations | $sixteen | tokens/min | sim --baud $BAUD, swap pause 0; wire limit $((limit_per_station * 16)) tokens/min (16 UARTs in parallel) |"
echo "| wire limit per station | $limit_per_station | tokens/min | $bytes bytes per token x 10 bits at $BAUD baud |"
"$TOKENLINE_BIN" seeds keygen --out "$work/bank" >/dev/null 2>&1
sone=$(run_line 1 40 --sealed-to "$work/bank.pub")
echo "| line sealed, 1 station | $sone | tokens/min | --sealed-to: the token generates and seals its seed (GenerateSealed), 2 readings; sim --baud $BAUD; host-generated: $one |"
ssixteen=$(run_line 16 160 --sealed-to "$work/bank.pub")
echo "| line sealed, 16 stations | $ssixteen | tokens/min | --sealed-to, sim --baud $BAUD; host-generated: $sixteen |"

cargo bench -q -p otp-core --bench hotp 2>/dev/null | while read -r name value; do
  echo "| otp-core ${name/_/ } | $value | computations/s | one core, 6 digits, RFC 6238 seed length |"
done
