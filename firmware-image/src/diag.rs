//! Lines on the diagnostics UART (UART1): the boot line, and the receive counters and the
//! stack high-water mark whenever they change. Never a seed, a code or a request's contents.
//! The launcher writes this port to `<state-dir>/station-NN.log`.

use crate::hw::Uart;
use crate::uart::{self, Stats};

/// `token-fw 2.0.0 hwid=0123456789abcdef boot`
pub fn boot(hardware_id: &[u8; 8], assigned: bool) {
    let v = token_app::FIRMWARE_VERSION;
    put(b"token-fw ");
    put_dec(u32::from(v.major));
    put(b".");
    put_dec(u32::from(v.minor));
    put(b".");
    put_dec(u32::from(v.patch));
    put(b" hwid=");
    for b in hardware_id {
        put_hex(*b);
    }
    if !assigned {
        put(b" (no boot parameters: id unassigned)");
    }
    put(b" boot\r\n");
}

/// `device key: ready` or `device key: none (no boot entropy)` (never the key itself; its
/// public half is in Identify).
pub fn device_key(present: bool) {
    put(if present {
        b"device key: ready\r\n"
    } else {
        b"device key: none (no boot entropy)\r\n"
    });
}

/// `uart0 rx: hw_overruns=0 ring_full_stalls=3`
pub fn rx_stats(s: Stats) {
    put(b"uart0 rx: hw_overruns=");
    put_dec(s.hw_overruns);
    put(b" ring_full_stalls=");
    put_dec(s.ring_full_stalls);
    put(b"\r\n");
}

/// `stack high water: 2400 bytes` (whenever the deepest stack use grows)
pub fn stack(bytes: usize) {
    put(b"stack high water: ");
    put_dec(bytes as u32);
    put(b" bytes\r\n");
}

fn put(bytes: &[u8]) {
    uart::write_all(Uart::Diag, bytes);
}

fn put_hex(b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    put(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
}

fn put_dec(mut v: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    put(&buf[i..]);
}
