#!/usr/bin/env bash
# Prints the figures of issue #7 that this run's tests left in <target>/tmp/reliability-figures/
# (kill points survived, faults injected, secrets scanned, bank load held; the fuzz executions
# are printed by fuzz.sh), then removes them so that a later run shows only its own.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir="${CARGO_TARGET_DIR:-$PWD/target}/tmp/reliability-figures"
if [ ! -d "$dir" ] || [ -z "$(ls -A "$dir")" ]; then
  echo "reliability figures: none (the reliability_* and prop_concurrency tests did not run)"
  exit 0
fi
echo "reliability figures (issue #7):"
cat "$dir"/*.txt | sed 's/^/  /'
rm -f "$dir"/*.txt
