//! The monotonic millisecond clock, from the board's free-running counters.
//!
//! The FPGAIO block has a seconds counter (CLK1HZ) and a general counter (COUNTER) that
//! increments each time a 25 MHz prescaler reloads. With the prescaler at 24 999 the counter
//! counts milliseconds; it wraps after 49.7 days, so the clock combines it with the seconds
//! counter (wraps after 136 years): the millisecond value is the one congruent to COUNTER
//! modulo 2^32 that lies nearest to CLK1HZ × 1000. Both count from the same reset, so they
//! never disagree by more than a second, and no interrupt or periodic wake-up is needed.
//!
//! Free-running counters rather than counted SysTick interrupts: under QEMU the counters are
//! computed from the emulator's virtual clock, so no tick is lost when the host is busy
//! (counting SysTick interrupts drifted about −0.6 % on the build machine, see issue #3).

use crate::hw;

/// Prescaler reload value: 25 MHz / (24 999 + 1) = 1 kHz.
const PRESCALE_MS: u32 = 24_999;
/// Prescaler input clock.
const PRESCALER_HZ: u32 = 25_000_000;

/// Starts counting milliseconds. Until this runs COUNTER counts raw 25 MHz ticks (the
/// prescaler resets to 0), so the value it holds is converted once to milliseconds.
pub fn init() {
    let ticks = hw::fpga_counter();
    hw::fpga_counter_init(PRESCALE_MS, ticks / (PRESCALER_HZ / 1000));
}

/// Milliseconds since the board's reset.
pub fn now_ms() -> u64 {
    // Read the seconds on both sides of the counter so the pair is consistent.
    loop {
        let s0 = hw::fpga_clk1hz();
        let ms = hw::fpga_counter();
        if hw::fpga_clk1hz() == s0 {
            return combine(s0, ms);
        }
    }
}

/// The millisecond count congruent to `ms_low` (mod 2^32) nearest to `secs` × 1000 + 500.
fn combine(secs: u32, ms_low: u32) -> u64 {
    let approx = u64::from(secs) * 1000 + 500;
    let delta = ms_low.wrapping_sub(approx as u32) as i32;
    approx.wrapping_add_signed(i64::from(delta))
}
