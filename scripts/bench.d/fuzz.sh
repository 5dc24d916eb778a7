#!/usr/bin/env bash
# Long fuzzing run (issue #7): every target of fuzz/ for FUZZ_BENCH_SECONDS (default 60) each,
# built with AddressSanitizer (the test run's 8-second pass builds without it).
# Prints markdown rows | fuzz_<target> | execs/s | exec/s | note |; exits non-zero on a crash
# (scripts/test.d/fuzz.sh prints the input and keeps it under fuzz/artifacts/).
set -euo pipefail
cd "$(dirname "$0")/../.."
FUZZ_OPT_LEVEL=${FUZZ_OPT_LEVEL:-3} FUZZ_SANITIZER=${FUZZ_SANITIZER:-address} FUZZ_SECONDS=${FUZZ_BENCH_SECONDS:-60} FUZZ_MARKDOWN=1 bash scripts/test.d/fuzz.sh
