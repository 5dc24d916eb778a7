//! The per-token parameters the launcher hands the board before boot.
//!
//! QEMU can't give a machine a unique id, so `tokenline sim --qemu` writes one with QEMU's
//! generic loader into a RAM window outside the link (`memory.x`), as a factory would burn
//! it into an MCU's unique-id register:
//!
//! ```text
//! -device loader,addr=0x20200000,data=0x544b425002000000,data-len=8,data-be=on   "TKBP" 2 0 0 0
//! -device loader,addr=0x20200008,data=0x<16 hex digits>,data-len=8,data-be=on    hardware id
//! -device loader,addr=0x20200010,data=0x<16 hex digits>,data-len=8,data-be=on    entropy 0..8
//!   … 0x20200018, 0x20200020, 0x20200028                                          entropy 8..32
//! ```
//!
//! Version 2 adds 32 bytes of boot entropy from the launcher's OS CSPRNG, the seed of the
//! DRBG (`rng.rs`): QEMU's mps2-an386 has no TRNG. Version 1 (no entropy) still boots, with
//! no random generator: such a token makes no device key and no sealed seed.
//!
//! QEMU re-applies loader data on every reset, so the id (and the entropy: see `rng.rs` for
//! why that is safe) holds for the machine's lifetime.

use crate::hw;

const MAGIC: [u8; 4] = *b"TKBP";
const VERSIONS: [u8; 2] = [1, 2];
/// Offset and length of the boot entropy (version 2).
const ENTROPY: core::ops::Range<usize> = 16..48;

/// The id of a board started without boot parameters (e.g. `cargo run`): all ones, like an
/// unprogrammed id register. Every such board has the same id.
pub const UNASSIGNED_ID: [u8; 8] = [0xFF; 8];

/// The hardware id from the boot parameters, or `None` if the launcher did not write them.
pub fn hardware_id() -> Option<[u8; 8]> {
    parse(&hw::bootparam_read())
}

/// The 32 bytes of boot entropy, or `None` without version-2 boot parameters.
pub fn entropy() -> Option<[u8; 32]> {
    let window = hw::bootparam_read();
    parse(&window)?;
    if window[4] < 2 {
        return None;
    }
    let mut e = [0u8; 32];
    e.copy_from_slice(&window[ENTROPY]);
    Some(e)
}

fn parse(window: &[u8; hw::BOOTPARAM_LEN]) -> Option<[u8; 8]> {
    if window[..4] != MAGIC || !VERSIONS.contains(&window[4]) || window[5..8] != [0, 0, 0] {
        return None;
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&window[8..16]);
    Some(id)
}
