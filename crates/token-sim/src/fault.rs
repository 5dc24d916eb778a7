//! Line faults: dropped and corrupted bytes, and UART pacing.

use std::time::Duration;

/// A small deterministic PRNG (SplitMix64) for fault injection — not for secrets.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// What the line does to bytes, applied per byte in both directions.
pub(crate) struct Line {
    pub(crate) corrupt_rate: f64,
    pub(crate) drop_rate: f64,
    pub(crate) baud: Option<u32>,
    pub(crate) rng: Rng,
    /// Bytes dropped so far (for the fault log).
    pub(crate) dropped: u64,
    /// Bytes corrupted so far (for the fault log).
    pub(crate) corrupted: u64,
}

impl Line {
    /// Drops and corrupts bytes in place; returns the surviving bytes.
    pub(crate) fn damage(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        for &b in bytes {
            if self.rng.chance(self.drop_rate) {
                self.dropped += 1;
                continue;
            }
            if self.rng.chance(self.corrupt_rate) {
                self.corrupted += 1;
                let flip = (self.rng.next_u64() % 255 + 1) as u8; // never 0: always a change
                out.push(b ^ flip);
            } else {
                out.push(b);
            }
        }
        out
    }

    /// How long `n` bytes take on a UART at the configured baud rate (10 bits per byte:
    /// start, 8 data, stop), or zero when not pacing.
    pub(crate) fn air_time(&self, n: usize) -> Duration {
        match self.baud {
            Some(b) if b > 0 => {
                Duration::from_nanos((n as u64) * 10 * 1_000_000_000 / u64::from(b))
            }
            _ => Duration::ZERO,
        }
    }
}
