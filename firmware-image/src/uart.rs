//! UART driver: an interrupt-fed receive ring that never drops a byte silently, and a
//! polled transmitter.
//!
//! Flow control instead of loss: when the ring is full the interrupt handler leaves the byte
//! in the UART's receive register and masks its own interrupt; thread mode unmasks it after
//! draining the ring. QEMU then holds further input back (its UART model only accepts a byte
//! once the receive register is free), so nothing is lost. On real silicon a byte arriving in
//! that window sets the UART's RX-overrun flag: the handler counts every such overrun, and
//! [`stats`] reports both counters.

use core::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering};

use crate::hw::{self, Uart};

/// Ring capacity in bytes (a power of two). Larger than the largest frame the protocol allows,
/// so a whole request fits while the main loop is busy.
const RING: usize = 512;

// Single producer (the RX interrupt) and single consumer (thread mode): `HEAD` is written
// only by the producer, `TAIL` only by the consumer; both count bytes modulo 2^32 wrap-free.
static BUF: [AtomicU8; RING] = [const { AtomicU8::new(0) }; RING];
static HEAD: AtomicUsize = AtomicUsize::new(0);
static TAIL: AtomicUsize = AtomicUsize::new(0);
static RING_FULL_STALLS: AtomicU32 = AtomicU32::new(0);
static HW_OVERRUNS: AtomicU32 = AtomicU32::new(0);

/// 25 MHz peripheral clock / 115200 baud. QEMU ignores the rate, but a divider below 16
/// leaves its transmitter disabled.
const BAUDDIV: u32 = 25_000_000 / 115_200;

/// Counters of the receive path since boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Times the ring was full and the byte was held back in the UART (flow control; no loss).
    pub ring_full_stalls: u32,
    /// Bytes the UART hardware itself lost because its receive register was still full.
    pub hw_overruns: u32,
}

/// The receive counters.
pub fn stats() -> Stats {
    Stats {
        ring_full_stalls: RING_FULL_STALLS.load(Ordering::Relaxed),
        hw_overruns: HW_OVERRUNS.load(Ordering::Relaxed),
    }
}

/// Enables the transmitter, the receiver and its interrupt.
pub fn init() {
    hw::uart_init(Uart::Link, BAUDDIV, hw::UART_CTRL_TXEN_RXEN_RXINTEN);
    hw::uart_init(Uart::Diag, BAUDDIV, hw::UART_CTRL_TXEN);
    hw::irq_unmask(hw::UART0_RX_IRQ);
}

/// The body of the UART0 RX interrupt: moves every waiting byte into the ring.
pub fn on_rx_interrupt() {
    loop {
        let state = hw::uart_state(Uart::Link);
        if state & hw::UART_STATE_RXOVERRUN != 0 {
            HW_OVERRUNS.fetch_add(1, Ordering::Relaxed);
            hw::uart_clear_rx_overrun(Uart::Link);
        }
        if state & hw::UART_STATE_RXFULL == 0 {
            // Clear first, then look again: a byte that lands in between raises it anew.
            hw::uart_clear_int(Uart::Link, hw::UART_INT_RX);
            if hw::uart_state(Uart::Link) & hw::UART_STATE_RXFULL == 0 {
                return;
            }
            continue;
        }
        let head = HEAD.load(Ordering::Relaxed);
        if head.wrapping_sub(TAIL.load(Ordering::Acquire)) >= RING {
            // Full: keep the byte in the UART, stop interrupting until thread mode drained.
            RING_FULL_STALLS.fetch_add(1, Ordering::Relaxed);
            hw::irq_mask(hw::UART0_RX_IRQ);
            return;
        }
        BUF[head % RING].store(hw::uart_read_data(Uart::Link), Ordering::Relaxed);
        HEAD.store(head.wrapping_add(1), Ordering::Release);
    }
}

/// Takes the oldest received byte, if any.
pub fn read_byte() -> Option<u8> {
    let tail = TAIL.load(Ordering::Relaxed);
    if HEAD.load(Ordering::Acquire) == tail {
        return None;
    }
    let byte = BUF[tail % RING].load(Ordering::Relaxed);
    TAIL.store(tail.wrapping_add(1), Ordering::Release);
    Some(byte)
}

/// True when no received byte waits in the ring.
pub fn rx_empty() -> bool {
    HEAD.load(Ordering::Acquire) == TAIL.load(Ordering::Relaxed)
}

/// Lets the receive interrupt run again after the ring was drained (undoes a full-ring stall).
pub fn rx_resume() {
    hw::irq_unmask(hw::UART0_RX_IRQ);
}

/// Sends bytes on `uart`, waiting for the transmit register before each one (a write into
/// a full register would replace the byte waiting there).
pub fn write_all(uart: Uart, bytes: &[u8]) {
    for &b in bytes {
        while hw::uart_state(uart) & hw::UART_STATE_TXFULL != 0 {}
        hw::uart_write_data(uart, b);
    }
}
