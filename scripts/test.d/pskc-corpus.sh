#!/usr/bin/env bash
# PSKC input corpus (issue #13): scripts/interop/pskc_corpus.py writes variants of one container
# (XML 1.0 encodings, namespace prefixes, optional elements present/absent, every Algorithm,
# cipher, MAC and Suite spelling python-pskc knows). For each file that oath-toolkit's pskctool
# validates against the RFC 6030 schema AND python-pskc reads, tokenline must read the same keys
# (serial, secret, algorithm, digits, counter, time step), or refuse with a message naming the
# element, attribute or value that differs (the manifest lists the words). No file may panic.
# Prints 'N passed, M failed'; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
if [ ! -x "$PY" ] || ! "$PY" -c 'import pskc' 2>/dev/null || ! command -v pskctool >/dev/null; then
  echo "pskc-corpus: needs python-pskc in .venv and pskctool (Debian pskctool): run ./scripts/setup" >&2
  echo "0 passed, 1 failed"; exit 1
fi
if [ -z "${TOKENLINE_BIN:-}" ]; then
  cargo build -q -p tokenline --bin tokenline || { echo "0 passed, 1 failed"; exit 1; }
  TOKENLINE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/tokenline"
fi
TL="$TOKENLINE_BIN"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$PY" scripts/interop/pskc_corpus.py gen "$W/c" 2>"$W/gen.err" || { cat "$W/gen.err" >&2; echo "0 passed, 1 failed"; exit 1; }
pass=0; fail=0; same=0; refused=0; skipped=0
while IFS=$'\t' read -r name key exp names; do
  f="$W/c/$name.pskc"
  if [ "$key" = plain ]; then
    args=(--insecure-plaintext)
  else
    ( umask 077; echo "${key#psk:}" > "$W/$name.key" )
    args=(--key "$W/$name.key")
  fi
  "$TL" seeds decrypt "$f" "${args[@]}" --csv "$W/$name.csv" >/dev/null 2>"$W/$name.err"
  rc=$?
  if [ "$rc" = 101 ] || grep -q "panicked" "$W/$name.err"; then
    fail=$((fail + 1)); echo "  FAIL $name: tokenline panicked: $(head -2 "$W/$name.err")" >&2; continue
  fi
  pskctool --validate --quiet "$f" >/dev/null 2>&1; valid=$?
  if [ "$valid" != 0 ] || [ "$exp" = - ]; then
    skipped=$((skipped + 1)); pass=$((pass + 1))
    echo "  ok   $name: not both peers accept it (pskctool $([ $valid = 0 ] && echo valid || echo invalid), python-pskc $([ "$exp" = - ] && echo refuses || echo reads)); tokenline rc $rc, no panic" >&2
    continue
  fi
  if [ "$rc" = 0 ]; then
    if "$PY" scripts/interop/pskc_interop.py compare-csv "$exp" "$W/$name.csv" >/dev/null 2>"$W/$name.cmp"; then
      same=$((same + 1)); pass=$((pass + 1)); echo "  ok   $name: same keys as python-pskc" >&2
    else
      fail=$((fail + 1)); echo "  FAIL $name: $(cat "$W/$name.cmp")" >&2
    fi
    continue
  fi
  named=""
  IFS=, read -ra words <<<"$names"
  for w in "${words[@]}"; do
    [ -n "$w" ] && grep -qiF -- "$w" "$W/$name.err" && named=$w && break
  done
  if [ -n "$named" ]; then
    refused=$((refused + 1)); pass=$((pass + 1))
    echo "  ok   $name: refused naming '$named': $(head -1 "$W/$name.err")" >&2
  else
    fail=$((fail + 1)); echo "  FAIL $name: both peers read it; tokenline refused without naming ${names:-the element}: $(head -2 "$W/$name.err")" >&2
  fi
done <"$W/c/manifest.tsv"
echo "pskc-corpus: $same read alike, $refused refused by name, $skipped not accepted by both peers" >&2
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
