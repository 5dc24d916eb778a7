//! Garbage on a real pty gets a protocol error and the token keeps working.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use token_link::{LinkOptions, TokenLink};
use token_proto::{decode_response, Accumulator, Event, Response, State, WireError, SEQ_UNKNOWN};
use token_sim::{SimOptions, Simulator};

/// Writes `bytes` and reads (bounded) until one response frame arrives.
fn exchange(port: &mut serialport::TTYPort, bytes: &[u8]) -> (u16, Response) {
    port.write_all(bytes).unwrap();
    let mut acc = Accumulator::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 64];
    while Instant::now() < deadline {
        let n = match port.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(e) => panic!("{e}"),
        };
        for &b in &buf[..n] {
            if let Some(Event::Frame(f)) = acc.push(b) {
                return decode_response(f).unwrap();
            }
        }
    }
    panic!("no response within 5 s");
}

#[test]
fn malformed_and_oversized_frames_get_errors_and_the_token_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(SimOptions::new(1, dir.path())).unwrap();
    let device = sim.stations()[0].device.clone();
    {
        let mut port = serialport::new(device.to_string_lossy(), 115_200)
            .timeout(Duration::from_millis(100))
            .open_native()
            .unwrap();
        // Not valid COBS: the code byte points past the end.
        assert_eq!(
            exchange(&mut port, &[0x09, 0x01, 0x00]),
            (SEQ_UNKNOWN, Response::Error(WireError::Malformed))
        );
        // 600 bytes without a delimiter.
        let mut big = vec![0x42u8; 600];
        big.push(0);
        assert_eq!(
            exchange(&mut port, &big),
            (SEQ_UNKNOWN, Response::Error(WireError::FrameTooLarge))
        );
        port.set_exclusive(false).unwrap();
    }
    let mut link = TokenLink::open(&device, LinkOptions::default()).unwrap();
    assert_eq!(link.identify().unwrap().state, State::Blank);
}
