//! The token firmware: token-app on an Arm Cortex-M4F, QEMU's mps2-an386 board.
//!
//! A thin runner: it gives token-app a [`board::Board`] (clock, flash, hardware id) and feeds
//! it the bytes that arrive on UART0, sending back the response frames token-app produces.
//! The wire protocol is token-proto's, byte for byte the simulator's (`spec/wire-format.md`).
//! See README.md for building and running it.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

mod board;
mod bootparam;
mod clock;
mod diag;
mod hw;
mod panic;
mod rng;
mod store;
mod uart;

use cortex_m_rt::entry;
use token_app::TokenApp;

use hw::Uart;

#[entry]
fn main() -> ! {
    hw::stack_paint();
    clock::init();
    uart::init();
    let mut board = board::Board::new();
    diag::boot(&board.id(), bootparam::hardware_id().is_some());

    let mut app = TokenApp::new();
    // First boot of a blank token: make its device key (later boots load it).
    let has_key = app.boot(&mut board).is_some();
    diag::device_key(has_key);
    let mut chunk = [0u8; 32];
    let mut reported = uart::stats();
    let mut stack_reported = 0;
    loop {
        let mut n = 0;
        while n < chunk.len() {
            match uart::read_byte() {
                Some(b) => {
                    chunk[n] = b;
                    n += 1;
                }
                None => break,
            }
        }
        if n > 0 {
            app.on_bytes(&mut board, &chunk[..n], |frame| {
                uart::write_all(Uart::Link, frame)
            });
            continue;
        }
        let stats = uart::stats();
        if stats != reported {
            diag::rx_stats(stats);
            reported = stats;
        }
        let stack = hw::stack_used();
        if stack > stack_reported {
            diag::stack(stack);
            stack_reported = stack;
        }
        // The ring is drained: let a stalled receive interrupt run again, then sleep until
        // an interrupt. WFI wakes on a pending interrupt even with interrupts masked, so a
        // byte that arrives between the check and the WFI is not slept through.
        uart::rx_resume();
        cortex_m::interrupt::free(|_| {
            if uart::rx_empty() {
                cortex_m::asm::wfi();
            }
        });
    }
}
