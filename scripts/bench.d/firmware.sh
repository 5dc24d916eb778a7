#!/usr/bin/env bash
# Firmware image budget and clock drift (issue #3).
# Prints one row per figure for scripts/bench: `| bench | figure | unit | note |`.
#   code              .vector_table+.text+.rodata+.data (what goes into flash)   budget 64 KiB
#   static RAM        .data+.bss+.uninit (the stack uses the rest)               budget 16 KiB
#   stack high water  deepest stack use under QEMU (SHA-512 provision + press,   shares the 16 KiB
#                     GenerateSealed of a 64-byte seed: X25519 + Ed25519)
#   GenerateSealed    one GenerateSealed round trip over the pty under QEMU (median of 5), beside
#                     an Identify round trip (issue #12)
#   clock drift       the QEMU token's clock against the host's, over FIRMWARE_DRIFT_SECONDS
#                     (default 30; 0 skips it). Both need qemu-system-arm.
# The link itself fails when the budget is exceeded (firmware-image/memory.x).
set -euo pipefail
cd "$(dirname "$0")/../.."

(cd firmware-image && env -u CARGO_TARGET_DIR -u RUSTFLAGS cargo build --release --quiet)
elf=firmware-image/target/thumbv7em-none-eabihf/release/token-fw

# `size -A` (binutils) reads any ELF; fall back to readelf's section table.
sections() {
  if command -v size >/dev/null 2>&1; then
    size -A -d "$elf" | awk 'NF == 3 && $1 ~ /^\./ { print $1, $2 }'
  else
    readelf -S -W "$elf" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\./) { print $i, strtonum("0x" $(i + 4)); break } }'
  fi
}
read -r code ram < <(sections | awk '
  $1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" || $1 == ".data" { code += $2 }
  $1 == ".data" || $1 == ".bss" || $1 == ".uninit" { ram += $2 }
  END { print code + 0, ram + 0 }')

line() { # name bytes budget-KiB
  awk -v n="$1" -v b="$2" -v k="$3" 'BEGIN { printf "| %s | %d | bytes | %.1f KiB of %d KiB budget (%s) |\n", n, b, b / 1024, k, (b <= k * 1024 ? "ok" : "OVER") }'
}
line "firmware code" "$code" 64
line "firmware static RAM" "$ram" 16

# Under QEMU: stack high-water mark and clock drift.
err=$(mktemp)
if out=$(cargo run --quiet -p token-qemu --example firmware_figures -- "${FIRMWARE_DRIFT_SECONDS:-30}" 2>"$err"); then
  while read -r name value _ over _; do
    case $name in
      stack_high_water_bytes) line "firmware stack high water" "$value" 16 | sed 's/budget/budget with the statics/' ;;
      generate_sealed_ms) printf '| firmware GenerateSealed | %s | ms | one round trip under QEMU, 64-byte seed (2 × X25519, AES-256-GCM, Ed25519 sign); an Identify round trip takes %s ms |\n' "$value" "$over" ;;
      clock_drift_ppm) printf '| firmware clock drift | %s | ppm | QEMU token vs host over %s s; edges found by polling over the pty (ms jitter); TOTP step = 30 s |\n' "$value" "$over" ;;
    esac
  done <<<"$out"
else
  printf '| firmware stack high water | - | bytes | not measured: %s |\n' "$(tail -n 1 "$err")"
fi
rm -f "$err"
