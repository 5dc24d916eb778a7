//! The board's registers and fixed memory windows: the only module with `unsafe`.
//!
//! Every function here is a single volatile access to an address that the mps2-an386
//! board defines (ARM AN386 application note; QEMU `hw/arm/mps2.c`), or to one of the two
//! RAM windows that `memory.x` keeps outside the link. Nothing else in the firmware touches
//! a raw pointer.
#![allow(unsafe_code)]

use core::ptr::{read_volatile, write_volatile};

/// A CMSDK APB UART (ARM DDI0479C §4.3) of the board.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Uart {
    /// UART0 at 0x4000_4000: the token's serial link to the host.
    Link,
    /// UART1 at 0x4000_5000: a diagnostics port (boot line, receive counters); never secrets.
    Diag,
}

impl Uart {
    const fn base(self) -> usize {
        match self {
            Uart::Link => 0x4000_4000,
            Uart::Diag => 0x4000_5000,
        }
    }
}

const UART_DATA: usize = 0x00;
const UART_STATE: usize = 0x04;
const UART_CTRL: usize = 0x08;
const UART_INTSTATUS: usize = 0x0c;
const UART_BAUDDIV: usize = 0x10;

/// UART STATE bit: the transmit register is still full.
pub const UART_STATE_TXFULL: u32 = 1 << 0;
/// UART STATE bit: a received byte waits in DATA.
pub const UART_STATE_RXFULL: u32 = 1 << 1;
/// UART STATE bit: a byte arrived while DATA was still full (hardware overrun).
pub const UART_STATE_RXOVERRUN: u32 = 1 << 3;
/// UART CTRL bits: TX enable, RX enable (QEMU holds all input back until it is set),
/// RX interrupt enable.
pub const UART_CTRL_TXEN_RXEN_RXINTEN: u32 = (1 << 0) | (1 << 1) | (1 << 3);
/// UART CTRL bit: TX enable only.
pub const UART_CTRL_TXEN: u32 = 1 << 0;
/// UART INTSTATUS bit of the RX interrupt (write 1 to clear).
pub const UART_INT_RX: u32 = 1 << 1;

/// The NVIC line of UART0's receive interrupt on mps2-an385/an386.
pub const UART0_RX_IRQ: u16 = 0;

/// FPGA system control and I/O block (AN386 §3.9): free-running counters.
mod fpgaio {
    pub const BASE: usize = 0x4002_8000;
    /// Seconds since reset.
    pub const CLK1HZ: usize = BASE + 0x10;
    /// Incremented each time PSCNTR (counting down at 25 MHz) reloads from PRESCALE.
    pub const COUNTER: usize = BASE + 0x18;
    pub const PRESCALE: usize = BASE + 0x1c;
}

/// Where QEMU's generic loader puts the per-token boot parameters (see `memory.x`).
pub const BOOTPARAM_ADDR: usize = 0x2020_0000;
/// Size of the boot parameter window in bytes.
pub const BOOTPARAM_LEN: usize = 64;
/// Where the RAM-backed "flash" lives (see `memory.x`).
pub const STORE_ADDR: usize = 0x2010_0000;
/// Size of the RAM-backed "flash" in bytes.
pub const STORE_LEN: usize = 12 * 1024;

fn read32(addr: usize) -> u32 {
    // SAFETY: callers pass only the aligned register addresses defined above, which exist
    // on this board for the whole run and have no side effects beyond the documented ones.
    unsafe { read_volatile(addr as *const u32) }
}

fn write32(addr: usize, value: u32) {
    // SAFETY: as in `read32`: an aligned, always-mapped register of this board.
    unsafe { write_volatile(addr as *mut u32, value) }
}

/// The STATE register of `uart`.
pub fn uart_state(uart: Uart) -> u32 {
    read32(uart.base() + UART_STATE)
}

/// Sets the baud divider and the CTRL bits of `uart`.
pub fn uart_init(uart: Uart, bauddiv: u32, ctrl: u32) {
    write32(uart.base() + UART_BAUDDIV, bauddiv);
    write32(uart.base() + UART_CTRL, ctrl);
}

/// Reads DATA (the caller checked RXFULL); frees the receive register.
pub fn uart_read_data(uart: Uart) -> u8 {
    (read32(uart.base() + UART_DATA) & 0xff) as u8
}

/// Writes DATA (the caller checked that TXFULL is clear).
pub fn uart_write_data(uart: Uart, byte: u8) {
    write32(uart.base() + UART_DATA, u32::from(byte));
}

/// Clears interrupt status bits (write-1-to-clear).
pub fn uart_clear_int(uart: Uart, bits: u32) {
    write32(uart.base() + UART_INTSTATUS, bits);
}

/// Clears the RX overrun flag in STATE (write-1-to-clear).
pub fn uart_clear_rx_overrun(uart: Uart) {
    write32(uart.base() + UART_STATE, UART_STATE_RXOVERRUN);
}

/// FPGAIO seconds since reset.
pub fn fpga_clk1hz() -> u32 {
    read32(fpgaio::CLK1HZ)
}

/// FPGAIO prescaled counter.
pub fn fpga_counter() -> u32 {
    read32(fpgaio::COUNTER)
}

/// Sets the FPGAIO prescaler reload value and restarts the prescaled counter at `counter`.
pub fn fpga_counter_init(prescale: u32, counter: u32) {
    write32(fpgaio::PRESCALE, prescale);
    write32(fpgaio::COUNTER, counter);
}

/// An NVIC interrupt line of this board.
#[derive(Clone, Copy)]
struct Irq(u16);

// SAFETY: `number` returns the line number the board wires the device to, below the 32
// lines QEMU's mps2-an386 NVIC has.
unsafe impl cortex_m::interrupt::InterruptNumber for Irq {
    fn number(self) -> u16 {
        self.0
    }
}

/// Masks an interrupt line (safe: masking can't break a critical section).
pub fn irq_mask(irq: u16) {
    cortex_m::peripheral::NVIC::mask(Irq(irq));
}

/// Unmasks an interrupt line.
pub fn irq_unmask(irq: u16) {
    // SAFETY: the only interrupt handler (`DefaultHandler` in main.rs) shares state with
    // thread mode through atomics alone, so unmasking can't break a critical section.
    unsafe { cortex_m::peripheral::NVIC::unmask(Irq(irq)) }
}

/// Copies the boot parameter window out.
pub fn bootparam_read() -> [u8; BOOTPARAM_LEN] {
    let mut out = [0u8; BOOTPARAM_LEN];
    for (i, b) in out.iter_mut().enumerate() {
        // SAFETY: the window lies in the board's data SSRAM outside every linked section
        // (memory.x), so no Rust object aliases it; byte reads are always aligned.
        *b = unsafe { read_volatile((BOOTPARAM_ADDR + i) as *const u8) };
    }
    out
}

/// Reads one byte of the RAM-backed "flash"; `offset` is checked against [`STORE_LEN`].
pub fn store_read(offset: usize) -> u8 {
    assert!(offset < STORE_LEN);
    // SAFETY: in bounds of the STORE window, which no linked section overlaps (memory.x).
    unsafe { read_volatile((STORE_ADDR + offset) as *const u8) }
}

/// Writes one byte of the RAM-backed "flash"; `offset` is checked against [`STORE_LEN`].
pub fn store_write(offset: usize, byte: u8) {
    assert!(offset < STORE_LEN);
    // SAFETY: as in `store_read`.
    unsafe { write_volatile((STORE_ADDR + offset) as *mut u8, byte) }
}

/// Every device interrupt of the board lands here (cortex-m-rt fills the vector table with
/// this handler when no device crate is linked); it dispatches on the line number.
#[cortex_m_rt::exception]
unsafe fn DefaultHandler(irqn: i16) {
    if irqn == UART0_RX_IRQ as i16 {
        crate::uart::on_rx_interrupt();
    }
}

/// The pattern [`stack_paint`] fills unused stack with.
const STACK_PAINT: u32 = 0x5ac3_5ac3;
/// Bytes below the current stack pointer left unpainted (the painting function's own frame).
const STACK_PAINT_MARGIN: usize = 256;

extern "C" {
    // cortex-m-rt's link.x: the stack grows down from `_stack_start` to `_stack_end` (the
    // end of the statics).
    static _stack_start: u32;
    static _stack_end: u32;
}

fn stack_bounds() -> (usize, usize) {
    // Only the addresses of the linker symbols are taken, never their contents.
    (
        core::ptr::addr_of!(_stack_end) as usize,
        core::ptr::addr_of!(_stack_start) as usize,
    )
}

/// Fills the unused part of the stack with a pattern, for [`stack_used`]. Call once, early.
pub fn stack_paint() {
    let (bottom, _) = stack_bounds();
    let sp = cortex_m::register::msp::read() as usize;
    let mut addr = bottom;
    while addr + 4 <= sp.saturating_sub(STACK_PAINT_MARGIN) {
        // SAFETY: [bottom, sp - margin) is stack memory below every live frame, owned by no
        // Rust object; word-aligned because both linker symbols are 4-aligned (link.x asserts).
        unsafe { write_volatile(addr as *mut u32, STACK_PAINT) };
        addr += 4;
    }
}

/// The deepest the stack has been since [`stack_paint`], in bytes.
pub fn stack_used() -> usize {
    let (bottom, top) = stack_bounds();
    let mut addr = bottom;
    // SAFETY: reads words of the stack region between the linker symbols (see `stack_paint`).
    while addr < top && unsafe { read_volatile(addr as *const u32) } == STACK_PAINT {
        addr += 4;
    }
    top - addr
}
