# The one build of the libFuzzer targets (issue #7), shared by scripts/test (which starts it
# early in the background, at the lowest CPU priority) and scripts/test.d/fuzz.sh (which runs
# the targets): the same flags, so the second call finds the first's artifacts fresh.
#   release, 16 codegen units: cargo fuzz's default
#   of 1 unit builds a crate on one core; 16 let both cores work on the large ones, at the cost
#   of somewhat slower executions (cargo fuzz build --help);
#   opt-level FUZZ_OPT_LEVEL (default 1: the test run's 8 seconds a target need coverage more
#   than speed, and level 1 compiles in far less time than 3; scripts/bench.d/fuzz.sh, which
#   reports executions per second, rebuilds them at 3);
#   sanitizer FUZZ_SANITIZER (default none in the test run: the targets' code is safe Rust,
#   whose memory errors the compiler rules out, and the bundled C (SQLite) is not instrumented
#   by cargo fuzz anyway, so AddressSanitizer bought little and cost a third of the build
#   (cold, both cores idle: 354 s with it, 235 s without; issue #10: the suite under 20 minutes); a panic, a hang, an out-of-memory and a crash are
#   still found; scripts/bench.d/fuzz.sh builds with `address`).
# Only stable Rust exists here, hence RUSTC_BOOTSTRAP=1 for libFuzzer's -Z flags.
# Usage: fuzz_build [extra cargo fuzz build args]   (from the repository root)
fuzz_target_dir() { echo "${CARGO_TARGET_DIR:-$PWD/target}/fuzz"; }
fuzz_build() {
  (cd fuzz && RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$(cd .. && fuzz_target_dir)" \
    CARGO_PROFILE_RELEASE_OPT_LEVEL="${FUZZ_OPT_LEVEL:-1}" \
    cargo fuzz build -O --codegen-units 16 --sanitizer "${FUZZ_SANITIZER:-none}" "$@")
}
