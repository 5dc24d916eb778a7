//! token-app's [`Platform`] on the mps2-an386 board.

use token_app::{Platform, RngError, StorageError, RECORD_LEN};

use crate::{bootparam, clock, rng::Drbg, store::Store};

/// The board as token-app sees it.
pub struct Board {
    hardware_id: [u8; 8],
    store: Store,
    rng: Drbg,
}

impl Board {
    /// Reads the boot parameters (the id is [`bootparam::UNASSIGNED_ID`] without them) and
    /// finds the stored record.
    pub fn new() -> Self {
        let hardware_id = bootparam::hardware_id().unwrap_or(bootparam::UNASSIGNED_ID);
        Board {
            hardware_id,
            store: Store::open(),
            rng: Drbg::new(&hardware_id),
        }
    }

    /// The id this board reports.
    pub fn id(&self) -> [u8; 8] {
        self.hardware_id
    }
}

impl Platform for Board {
    fn hardware_id(&self) -> [u8; 8] {
        self.hardware_id
    }

    fn now_ms(&mut self) -> u64 {
        clock::now_ms()
    }

    fn load(&mut self, record: &mut [u8; RECORD_LEN]) {
        self.store.load(record);
    }

    fn store(&mut self, record: &[u8; RECORD_LEN]) -> Result<(), StorageError> {
        self.store.store(record)
    }

    fn fill_random(&mut self, buf: &mut [u8]) -> Result<(), RngError> {
        if self.rng.fill(buf) {
            Ok(())
        } else {
            Err(RngError)
        }
    }
}
