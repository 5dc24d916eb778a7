//! The token's random number generator: a ChaCha20 DRBG (RFC 8439 keystream, RustCrypto's
//! `chacha20::ChaCha20Rng`) seeded at boot.
//!
//! A real token MCU has a TRNG and would fill [`token_app::Platform::fill_random`] from it
//! (or seed this DRBG from it). QEMU's mps2-an386 has none, so the launcher hands the board
//! 32 bytes from the host's OS CSPRNG in the boot parameters (`bootparam.rs`) — a property of
//! the emulator, not of the design (README.md "Randomness").
//!
//! Seed = SHA-256(`"tokenline-drbg/v1"` | entropy (32) | boot count u32 LE | hardware id).
//! QEMU re-applies the same entropy at every guest reset; the boot count, kept in the
//! RAM-backed flash (`store::next_boot`), makes every boot's stream different, so a reset
//! never replays a seed or a device key. A QEMU restart (battery pulled) gets fresh entropy.

use chacha20::rand_core::{Rng, SeedableRng};
use chacha20::ChaCha20Rng;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use crate::{bootparam, store};

/// The DRBG; `None` inside when the board booted without entropy.
pub struct Drbg(Option<ChaCha20Rng>);

impl Drbg {
    /// Seeds the DRBG from the boot entropy and this boot's count.
    pub fn new(hardware_id: &[u8; 8]) -> Self {
        let Some(mut entropy) = bootparam::entropy() else {
            return Drbg(None);
        };
        let boots = store::next_boot();
        let mut h = Sha256::new();
        h.update(b"tokenline-drbg/v1");
        h.update(entropy);
        h.update(boots.to_le_bytes());
        h.update(hardware_id);
        let mut seed: [u8; 32] = h.finalize().into();
        entropy.zeroize();
        let rng = ChaCha20Rng::from_seed(seed);
        seed.zeroize();
        Drbg(Some(rng))
    }

    /// Fills `buf`; `false` when there is no entropy to draw from.
    pub fn fill(&mut self, buf: &mut [u8]) -> bool {
        match &mut self.0 {
            Some(rng) => {
                rng.fill_bytes(buf);
                true
            }
            None => false,
        }
    }
}
