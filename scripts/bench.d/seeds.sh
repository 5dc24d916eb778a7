#!/usr/bin/env bash
# Seed file benchmarks (issue #4). Prints markdown table rows: | bench | figure | unit | note |
#   tlseed export / decrypt of SEEDS_BENCH_RECORDS (default 1,000,000) synthetic records:
#     records/s and peak RSS (X25519 recipient, 64 KiB AES-256-GCM chunks);
#   PSKC write / read of SEEDS_BENCH_PSKC (default 100,000) keys, pre-shared key AES-256-CBC +
#     HMAC-SHA1, side by side with python-pskc (.venv) on the same file: keys/s and the ratio;
#   pskctool --info (oath-toolkit, parse only) on the same file (issue #14);
#   the streaming read of SEEDS_BENCH_PSKC_LARGE (default 1,000,000) keys: keys/s and peak RSS
#     (python-pskc and pskctool are left out at that size: they hold the whole document), and its
#     conversion to .tlseed as `seeds convert` does it (issue #14);
#   `tokenline bank import` of that file into a fresh SQLite bank (release binary): streamed,
#     one transaction, all or nothing: tokens/s and peak RSS (issue #14).
# Wall time from date(1); peak memory from GNU time (/usr/bin/time -v), installed if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${SEEDS_BENCH_RECORDS:-1000000}
P=${SEEDS_BENCH_PSKC:-100000}
PL=${SEEDS_BENCH_PSKC_LARGE:-1000000}
PY=.venv/bin/python
HELPER=scripts/interop/pskc_interop.py
if [ ! -x /usr/bin/time ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
  $SUDO apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq time >/dev/null
fi
cargo build --release --quiet -p seedfile --example seedbench -p tokenline --bin tokenline
BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/examples/seedbench"
TL="${CARGO_TARGET_DIR:-$PWD/target}/release/tokenline"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f

# measure NAME CMD...: runs CMD under GNU time; sets SECS and KIB (peak RSS).
measure() {
  local name=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$W/$name.time" "$@" >"$W/$name.out"
  t1=$(date +%s.%N)
  SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  KIB=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$W/$name.time")
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

measure export "$BIN" export-tlseed "$N" "$W/b.tlseed"
size=$(stat -c %s "$W/b.tlseed")
echo "| seeds_tlseed_export | $(rate "$N" "$SECS") | records/s | $N records in ${SECS} s, peak RSS $(mib "$KIB") MiB, file $(mib $((size / 1024))) MiB |"
measure decrypt "$BIN" decrypt-tlseed "$W/b.tlseed" "$W/b.csv"
echo "| seeds_tlseed_decrypt | $(rate "$N" "$SECS") | records/s | $N records authenticated + CSV in ${SECS} s, peak RSS $(mib "$KIB") MiB |"

measure pwrite "$BIN" write-pskc "$P" "$W/ours.pskc" "$KEY"
ours_w=$SECS; ours_wk=$KIB
measure pread "$BIN" read-pskc "$W/ours.pskc" "$KEY"
ours_r=$SECS; ours_rk=$KIB
[ "$(cat "$W/pread.out")" = "$P" ] || { echo "read-pskc returned $(cat "$W/pread.out") keys" >&2; exit 1; }
if [ -x "$PY" ] && "$PY" -c 'import pskc' 2>/dev/null; then
  measure pyread "$PY" $HELPER bench-read --psk "$KEY" "$W/ours.pskc"
  py_r=$SECS; py_rk=$KIB
  [ "$(cat "$W/pyread.out")" = "$P" ] || { echo "python-pskc read $(cat "$W/pyread.out") keys" >&2; exit 1; }
  measure pywrite "$PY" $HELPER write-theirs --psk "$KEY" --algorithm aes256-cbc --count "$P" "$W/py.pskc"
  py_w=$SECS; py_wk=$KIB
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
  echo "| seeds_pskc_write | $(rate "$P" "$ours_w") | keys/s | $P keys in ${ours_w} s ($(mib "$ours_wk") MiB); python-pskc $(rate "$P" "$py_w") keys/s ($(mib "$py_wk") MiB): tokenline $(ratio "$py_w" "$ours_w")x faster |"
  echo "| seeds_pskc_read | $(rate "$P" "$ours_r") | keys/s | same file, $P ValueMACs verified + decrypted in ${ours_r} s ($(mib "$ours_rk") MiB); python-pskc $(rate "$P" "$py_r") keys/s ($(mib "$py_rk") MiB): tokenline $(ratio "$py_r" "$ours_r")x faster |"
else
  echo "| seeds_pskc_write | $(rate "$P" "$ours_w") | keys/s | $P keys in ${ours_w} s; python-pskc missing (run ./scripts/setup) |"
  echo "| seeds_pskc_read | $(rate "$P" "$ours_r") | keys/s | $P keys in ${ours_r} s; python-pskc missing |"
fi
if command -v pskctool >/dev/null 2>&1; then
  measure pskctool pskctool --info --quiet "$W/ours.pskc"
  ratio_t=$(awk -v a="$SECS" -v b="$ours_r" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
  echo "| seeds_pskc_pskctool_info | $(rate "$P" "$SECS") | keys/s | pskctool --info (parse only, no decryption) of the same $P keys in ${SECS} s ($(mib "$KIB") MiB): tokenline read+MAC+decrypt ${ratio_t}x faster. libpskc knows no <EncryptionKey>, <MACMethod> or <EncryptedValue> (its 'warning: parse error'): it reads the other elements, which is all it can do with an encrypted file |"
else
  echo "| seeds_pskc_pskctool_info | - | keys/s | pskctool missing (apt-get install pskctool; ./scripts/setup) |"
fi
measure pwrite_large "$BIN" write-pskc "$PL" "$W/large.pskc" "$KEY"
size=$(stat -c %s "$W/large.pskc")
measure pread_large "$BIN" read-pskc "$W/large.pskc" "$KEY"
[ "$(cat "$W/pread_large.out")" = "$PL" ] || { echo "read-pskc returned $(cat "$W/pread_large.out") keys" >&2; exit 1; }
echo "| seeds_pskc_read_large | $(rate "$PL" "$SECS") | keys/s | streaming read of $PL keys ($(mib $((size / 1024))) MiB of PSKC): ValueMACs verified + decrypted in ${SECS} s, peak RSS $(mib "$KIB") MiB |"
measure pconvert_large "$BIN" convert-pskc "$W/large.pskc" "$W/large.tlseed" "$KEY"
[ "$(cat "$W/pconvert_large.out")" = "$PL" ] || { echo "convert-pskc returned $(cat "$W/pconvert_large.out") keys" >&2; exit 1; }
echo "| seeds_pskc_convert_large | $(rate "$PL" "$SECS") | keys/s | $PL PSKC keys → .tlseed as \`seeds convert\` does it (count pass + streamed read, MAC, decrypt, re-encrypt) in ${SECS} s, peak RSS $(mib "$KIB") MiB |"
rm -f "$W/large.tlseed"
# bank import of the same file: a fresh SQLite bank, the pre-shared key as a key file (0600).
"$TL" bank init --db "$W/bank.db" --staging >/dev/null 2>&1
echo "$KEY" >"$W/psk.key"
chmod 600 "$W/psk.key"
measure bank_import "$TL" bank import --db "$W/bank.db" --key "$W/psk.key" --json "$W/large.pskc"
grep -q "\"imported\":$PL" "$W/bank_import.out" || { echo "bank import: $(cat "$W/bank_import.out")" >&2; exit 1; }
echo "| seeds_bank_import_pskc_large | $(rate "$PL" "$SECS") | tokens/s | \`tokenline bank import\` of the same $PL-key PSKC file into a fresh SQLite bank (count pass, streamed read + MAC + decrypt, seeds encrypted under the master key, one transaction) in ${SECS} s, peak RSS $(mib "$KIB") MiB |"
rm -f "$W"/bank.db*
rm -f "$W/large.pskc"
