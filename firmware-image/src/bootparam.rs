//! The per-token parameters the launcher hands the board before boot.
//!
//! QEMU can't give a machine a unique id, so `tokenline sim --qemu` writes one with QEMU's
//! generic loader into a RAM window outside the link (`memory.x`), as a factory would burn
//! it into an MCU's unique-id register:
//!
//! ```text
//! -device loader,addr=0x20200000,data=0x544b425001000000,data-len=8,data-be=on   "TKBP" 1 0 0 0
//! -device loader,addr=0x20200008,data=0x<16 hex digits>,data-len=8,data-be=on    hardware id
//! ```
//!
//! QEMU re-applies loader data on every reset, so the id holds for the machine's lifetime.

use crate::hw;

const MAGIC: [u8; 4] = *b"TKBP";
const VERSION: u8 = 1;

/// The id of a board started without boot parameters (e.g. `cargo run`): all ones, like an
/// unprogrammed id register. Every such board has the same id.
pub const UNASSIGNED_ID: [u8; 8] = [0xFF; 8];

/// The hardware id from the boot parameters, or `None` if the launcher did not write them.
pub fn hardware_id() -> Option<[u8; 8]> {
    parse(&hw::bootparam_read())
}

fn parse(window: &[u8; hw::BOOTPARAM_LEN]) -> Option<[u8; 8]> {
    if window[..4] != MAGIC || window[4] != VERSION || window[5..8] != [0, 0, 0] {
        return None;
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&window[8..16]);
    Some(id)
}
