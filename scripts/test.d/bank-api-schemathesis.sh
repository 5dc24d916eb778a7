#!/usr/bin/env bash
# The bank API against its OpenAPI spec (issue #10): schemathesis (PyPI, in .venv, installed
# by scripts/setup) generates requests from spec/bank-api.openapi.yaml — valid and invalid —
# and sends them to a running `tokenline bank serve` on 127.0.0.1 (a throwaway SQLite
# database, a staging clock, an API key holding every scope, the import key); every answer
# must conform to the spec (status, content type, schema, headers), no 5xx, invalid input
# refused, the key never ignored. Bounded: SCHEMATHESIS_EXAMPLES cases per operation
# (default 40) and a fixed seed, so a run takes well under a minute and repeats.
# Prints 'N passed, M failed'; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
ST=.venv/bin/schemathesis
if [ ! -x "$ST" ]; then
  echo "bank-api-schemathesis: schemathesis is missing from .venv: run ./scripts/setup" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
if [ -z "${TOKENLINE_BIN:-}" ]; then
  cargo build -q -p tokenline --bin tokenline || { echo "0 passed, 1 failed"; exit 1; }
  TOKENLINE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/tokenline"
fi
TL="$TOKENLINE_BIN"
W=$(mktemp -d)
SERVER=
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
export TOKENLINE_BANK_SECRET=kakunin-pass
DB="$W/bank.db"
# Policy 004 with cheap password hashing (a staging database: the floors are for --production).
{ cat fixtures/policy/bank-004.toml; printf '\n[secrets]\nargon2_m_kib = 8\nargon2_t = 1\nargon2_p = 1\n'; } > "$W/policy.toml"
"$TL" bank init --staging --policy "$W/policy.toml" --db "$DB" >/dev/null 2>"$W/init.err" \
  || { cat "$W/init.err" >&2; echo "0 passed, 1 failed"; exit 1; }
KEY=$("$TL" bank client add schemathesis --db "$DB" --json \
  --scope login,customer-admin,provisioning,import,backoffice,audit 2>/dev/null \
  | sed -n 's/.*"key":"\([^"]*\)".*/\1/p')
[ -n "$KEY" ] || { echo "bank-api-schemathesis: no API key" >&2; echo "0 passed, 1 failed"; exit 1; }
"$TL" seeds keygen --psk --out "$W/import.psk" >/dev/null 2>&1
# A customer and a user, so that generated requests also reach rows that exist.
"$TL" bank customer add C1 --name C1 --db "$DB" >/dev/null 2>&1
"$TL" bank user add C1 taro --name taro --class master --db "$DB" >/dev/null 2>&1

"$TL" bank serve --db "$DB" --listen 127.0.0.1:0 --import-key "$W/import.psk" 2>"$W/serve.err" &
SERVER=$!
ADDR=
for _ in $(seq 1 100); do
  ADDR=$(sed -n 's/^listening on //p' "$W/serve.err" | head -1)
  [ -n "$ADDR" ] && break
  sleep 0.1
done
[ -n "$ADDR" ] || { cat "$W/serve.err" >&2; echo "0 passed, 1 failed"; exit 1; }

# Checks: all of them; the exceptions, each with its reason, are in scripts/schemathesis.toml.
if "$ST" --config-file scripts/schemathesis.toml run spec/bank-api.openapi.yaml \
    --url "http://$ADDR" \
    --header "Authorization: Bearer $KEY" \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-40}" --seed 10 \
    --workers 1 --no-color --warnings off --output-sanitize false --generation-database none \
    --report junit --report-dir "$W/report" >"$W/st.out" 2>&1; then
  grep -E "generated|Tested|passed|No issues" "$W/st.out" >&2
  echo "1 passed, 0 failed"
else
  cat "$W/st.out" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
