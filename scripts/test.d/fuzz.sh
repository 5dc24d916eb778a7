#!/usr/bin/env bash
# Fuzzing (issue #7): every libFuzzer target under fuzz/ (cargo-fuzz), for FUZZ_SECONDS each
# (default 8), starting from the committed corpus fuzz/corpus/<target>/ (read only: new inputs
# go to a temporary directory). A crash or a hang (an input taking over 10 s) fails the run and
# prints the input in hex and how to reproduce it; turn it into a regression test in the owning
# crate's tests/.
# Output: one line per target on stderr, then on stdout `fuzz: N executions, K targets, 0 crashes`.
# With FUZZ_MARKDOWN=1 (scripts/bench.d/fuzz.sh) one table row per target instead:
#   | fuzz_<target> | execs/s | exec/s | N executions in S s, corpus C inputs |
# Needs cargo-fuzz (scripts/setup installs it); only stable Rust exists here, hence
# RUSTC_BOOTSTRAP=1 for libFuzzer's -Z flags. FUZZ_TARGETS="a b" limits the targets.
set -uo pipefail
cd "$(dirname "$0")/../.."
SECS=${FUZZ_SECONDS:-8}
MD=${FUZZ_MARKDOWN:-0}
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz: cargo-fuzz is missing: run ./scripts/setup (cargo install cargo-fuzz --locked)" >&2
  exit 1
fi
. scripts/lib/fuzz.sh
TARGET_DIR=$(fuzz_target_dir)
HOST=$(rustc -vV | sed -n 's/^host: //p')
t0=$(date +%s)
if ! fuzz_build >&2; then
  echo "fuzz: cannot build the fuzz targets (cd fuzz && RUSTC_BOOTSTRAP=1 CARGO_PROFILE_RELEASE_OPT_LEVEL=${FUZZ_OPT_LEVEL:-1} cargo fuzz build -O --codegen-units 16 --sanitizer ${FUZZ_SANITIZER:-none})" >&2
  exit 1
fi
build_s=$(( $(date +%s) - t0 ))
TARGETS=${FUZZ_TARGETS:-$(cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz list)}
# With FUZZ_SANITIZER=address (scripts/bench.d/fuzz.sh): the bundled SQLite (rusqlite, reached
# through provision's serial registry) trips ASan's ODR check at start-up (global `aiOff` seen
# twice), before any input is read; cargo fuzz builds with the same option. Every other ASan
# check stays on.
export ASAN_OPTIONS="detect_odr_violation=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
W=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d) # tmpfs: the journal target fsyncs
trap 'rm -rf "$W"' EXIT
export TOKENLINE_FUZZ_TMP="$W"
total=0; crashes=0; n=0
for t in $TARGETS; do
  bin="$TARGET_DIR/$HOST/release/$t"
  mkdir -p "$W/$t" "$W/art-$t"
  seeds="fuzz/corpus/$t"
  [ -d "$seeds" ] || seeds=""
  dict=""; [ -f "fuzz/$t.dict" ] && dict="-dict=fuzz/$t.dict"  # e.g. fuzz/pskc.dict (issue #13)
  "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $dict \
    -artifact_prefix="$W/art-$t/" "$W/$t" $seeds >"$W/$t.log" 2>&1
  rc=$?
  execs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$W/$t.log" | tail -1)
  rate=$(awk '/stat::average_exec_per_sec/ { print $2 }' "$W/$t.log" | tail -1)
  execs=${execs:-0}; rate=${rate:-0}
  corpus=$(ls "$W/$t" | wc -l)
  total=$((total + execs)); n=$((n + 1))
  if [ "$rc" -ne 0 ]; then
    crashes=$((crashes + 1))
    echo "fuzz: $t FAILED (exit $rc) after $execs executions:" >&2
    grep -E 'ERROR|panicked|SUMMARY|Test unit written' "$W/$t.log" | head -20 >&2
    for a in "$W/art-$t"/*; do
      [ -e "$a" ] || continue
      echo "  input ($(stat -c %s "$a") bytes, hex): $(od -An -tx1 -v "$a" | tr -d ' \n' | head -c 2000)" >&2
      keep="fuzz/artifacts/$t/$(basename "$a")"
      mkdir -p "$(dirname "$keep")" && cp "$a" "$keep"
      echo "  kept as $keep; reproduce: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O --sanitizer ${FUZZ_SANITIZER:-none} $t ${keep#fuzz/})" >&2
    done
  fi
  if [ "$MD" = 1 ]; then
    echo "| fuzz_$t | $rate | exec/s | $execs executions in $SECS s, corpus $corpus inputs$( [ "$rc" -ne 0 ] && echo ', CRASHED' ) |"
  else
    echo "  $t: $execs executions ($rate/s), corpus $corpus inputs$( [ "$rc" -ne 0 ] && echo ', CRASHED' )" >&2
  fi
done
if [ "$MD" != 1 ]; then
  echo "fuzz: $total executions, $n targets x ${SECS} s, $crashes crashes (build ${build_s} s)"
fi
[ "$crashes" -eq 0 ]
