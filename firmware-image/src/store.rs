//! The token's persistent record in "flash": two slots used in turn, so that a write cut
//! short by a reset leaves the previous record readable (token-app's `Platform::store`
//! contract).
//!
//! Under QEMU the flash is a window of the board's RAM outside the link (see `memory.x`): it
//! survives a guest reset (a panic resets the token) but not a restart of QEMU, which is the
//! battery being pulled: the token comes back blank, like a real one whose battery died.
//!
//! Slot layout (little-endian): `magic "TKRS" | seq u32 | crc u32 | record`. The CRC-32
//! (ISO-HDLC, as the wire frames use) covers `seq` and `record`. The valid slot with the
//! highest `seq` is current. A write goes to the other slot, body first and magic last; then
//! the old slot is erased to `0xFF`, so a wiped seed does not linger in the stale copy.

use token_app::{StorageError, RECORD_LEN};

use crate::hw;

const MAGIC: [u8; 4] = *b"TKRS";
const HEADER: usize = 12;
/// Each slot is one 4 KiB "sector".
const SLOT_LEN: usize = 4096;
const SLOTS: [usize; 2] = [0, SLOT_LEN];

/// The DRBG boot counter (`rng.rs`), after the two slots: `magic "TKBC" | count u32`.
const BOOTS_AT: usize = 2 * SLOT_LEN;
const BOOTS_MAGIC: [u8; 4] = *b"TKBC";

const _: () = assert!(HEADER + RECORD_LEN <= SLOT_LEN && BOOTS_AT + 8 <= hw::STORE_LEN);

/// Counts this boot in the "flash" and returns the count (1 on a fresh board): the DRBG mixes
/// it into its seed, so a guest reset (same loader entropy) never replays random bytes.
pub fn next_boot() -> u32 {
    let mut b = [0u8; 8];
    read(BOOTS_AT, &mut b);
    let count = if b[..4] == BOOTS_MAGIC {
        u32::from_le_bytes([b[4], b[5], b[6], b[7]]).wrapping_add(1)
    } else {
        1
    };
    write(BOOTS_AT + 4, &count.to_le_bytes());
    write(BOOTS_AT, &BOOTS_MAGIC);
    count
}

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// The RAM-backed flash.
pub struct Store {
    /// The current slot and its sequence number, if any slot is valid.
    current: Option<(usize, u32)>,
}

impl Store {
    /// Finds the current slot.
    pub fn open() -> Self {
        let mut current: Option<(usize, u32)> = None;
        for slot in SLOTS {
            if let Some(seq) = valid_seq(slot) {
                // Sequence numbers are compared wrap-aware: the newer is at most 2^31 ahead.
                if current.is_none_or(|(_, cur)| (seq.wrapping_sub(cur) as i32) > 0) {
                    current = Some((slot, seq));
                }
            }
        }
        Store { current }
    }

    /// Copies the current record out, or all `0xFF` (erased flash) if there is none.
    pub fn load(&self, record: &mut [u8; RECORD_LEN]) {
        match self.current {
            Some((slot, _)) => read(slot + HEADER, record),
            None => record.fill(0xFF),
        }
    }

    /// Writes `record` into the other slot, then erases the old one.
    pub fn store(&mut self, record: &[u8; RECORD_LEN]) -> Result<(), StorageError> {
        let (slot, seq) = match self.current {
            Some((cur, seq)) => (
                if cur == SLOTS[0] { SLOTS[1] } else { SLOTS[0] },
                seq.wrapping_add(1),
            ),
            None => (SLOTS[0], 1),
        };
        erase(slot, HEADER + RECORD_LEN);
        write(slot + HEADER, record);
        write(slot + 4, &seq.to_le_bytes());
        write(slot + 8, &checksum(seq, record).to_le_bytes());
        write(slot, &MAGIC);
        // Read back, as a flash driver verifies its program operation.
        if valid_seq(slot) != Some(seq) {
            return Err(StorageError);
        }
        if let Some((old, _)) = self.current {
            erase(old, HEADER + RECORD_LEN);
        }
        self.current = Some((slot, seq));
        Ok(())
    }
}

fn checksum(seq: u32, record: &[u8]) -> u32 {
    let mut digest = CRC.digest();
    digest.update(&seq.to_le_bytes());
    digest.update(record);
    digest.finalize()
}

/// The slot's sequence number if its magic and checksum hold.
fn valid_seq(slot: usize) -> Option<u32> {
    let mut header = [0u8; HEADER];
    read(slot, &mut header);
    if header[..4] != MAGIC {
        return None;
    }
    let seq = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let crc = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    let mut digest = CRC.digest();
    digest.update(&seq.to_le_bytes());
    for i in 0..RECORD_LEN {
        digest.update(&[hw::store_read(slot + HEADER + i)]);
    }
    (digest.finalize() == crc).then_some(seq)
}

fn read(offset: usize, out: &mut [u8]) {
    for (i, b) in out.iter_mut().enumerate() {
        *b = hw::store_read(offset + i);
    }
}

fn write(offset: usize, bytes: &[u8]) {
    for (i, &b) in bytes.iter().enumerate() {
        hw::store_write(offset + i, b);
    }
}

fn erase(offset: usize, len: usize) {
    for i in 0..len {
        hw::store_write(offset + i, 0xFF);
    }
}
