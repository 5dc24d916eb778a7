#!/usr/bin/env bash
# Mailing-room benchmarks (issue #6): plan a campaign for 10,000 customers (20,000 tokens),
# show, 1,000 scans, report, one PDF letter. Prints markdown rows: | bench | figure | unit | note |.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --quiet --release -p mailroom-sqlite --example plan_bench
"$CARGO_TARGET_DIR/release/examples/plan_bench" 10000 1000
