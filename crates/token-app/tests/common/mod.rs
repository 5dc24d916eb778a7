//! The RAM platform the token-app tests run on.
#![allow(dead_code)]

use token_app::{Platform, RngError, StorageError, RECORD_LEN};
use token_proto::HardwareId;

pub struct Ram {
    pub id: HardwareId,
    pub rec: [u8; RECORD_LEN],
    pub ms: u64,
    pub fail_writes: bool,
    pub writes: usize,
    pub fail_rng: bool,
    /// Counter of the test RNG (a test platform: deterministic, distinct bytes per draw).
    pub drawn: u8,
}

impl Ram {
    pub fn new() -> Self {
        Ram {
            id: ME,
            rec: [0xFF; RECORD_LEN],
            ms: 5_000,
            fail_writes: false,
            writes: 0,
            fail_rng: false,
            drawn: 0,
        }
    }
}

/// The hardware id of the token under test (the RAM platform's).
pub const ME: HardwareId = HardwareId([0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18]);
/// Another token's: the one a resent request would reach after a swap.
pub const OTHER: HardwareId = HardwareId([0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x19]);

impl Platform for Ram {
    fn hardware_id(&self) -> [u8; 8] {
        self.id.0
    }
    fn now_ms(&mut self) -> u64 {
        self.ms
    }
    fn load(&mut self, record: &mut [u8; RECORD_LEN]) {
        *record = self.rec;
    }
    fn store(&mut self, record: &[u8; RECORD_LEN]) -> Result<(), StorageError> {
        if self.fail_writes {
            return Err(StorageError);
        }
        self.writes += 1;
        self.rec = *record;
        Ok(())
    }
    fn fill_random(&mut self, buf: &mut [u8]) -> Result<(), RngError> {
        if self.fail_rng {
            return Err(RngError);
        }
        for b in buf {
            self.drawn = self.drawn.wrapping_add(1);
            *b = self.drawn.wrapping_mul(151).wrapping_add(17);
        }
        Ok(())
    }
}
