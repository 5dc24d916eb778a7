#!/usr/bin/env bash
# Sealed seeds and protocol version 3, recomputed by a third party from the specs alone:
#   scripts/interop/sealed_vectors.py --check   the sealed record of spec/wire-format.md §10.5
#                                               (Python `cryptography`: X25519, HKDF, AES-GCM, Ed25519)
#   scripts/interop/wire_golden.py --check      every golden frame of crates/token-proto/tests/golden.rs
#                                               (zlib.crc32, COBS from the paper)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
"$PY" scripts/interop/sealed_vectors.py --check >/dev/null
"$PY" scripts/interop/wire_golden.py --check >/dev/null
echo "sealed-interop: spec §10.5 and the golden frames recomputed independently: ok"
