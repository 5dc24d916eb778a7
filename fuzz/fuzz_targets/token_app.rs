//! The token's command handler (`TokenApp::on_bytes`) on arbitrary host bytes, with a RAM
//! platform, starting blank, provisioned (TOTP or HOTP) or locked with a known seed.
//!
//! Invariants: nothing panics; every byte the token sends is a well-formed response frame
//! (it decodes); the token never sends its seed — no 13-byte window of it appears in any
//! output, COBS-encoded or decoded; a stream in which no request is addressed to this token
//! (spec/wire-format.md §4.1) leaves its stored record exactly as it was. The seed's bytes are all ≥ 0xC0, so no honest field can
//! hold 13 of them in a row (the longest host-controlled run is a period + T0, 12 bytes,
//! framed by 0/1 flag bytes; COBS code bytes are < 0x83).
//!
//! Input layout: byte 0 picks the starting state and whether writes fail; byte 1 the chunk
//! size; the rest is the host's byte stream, fed in chunks, with the clock advancing 700 ms
//! per chunk.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otp_core::{Hash, Mode, Params};
use token_app::{Platform, RngError, StorageError, TokenApp, RECORD_LEN};
use token_proto::{
    decode_request, decode_response, Accumulator, Date, Event, HardwareId, Provision, Request,
    Response, Seed, Serial,
};

const SEED: [u8; 20] = [
    0xC3, 0xF1, 0xD7, 0xE2, 0xC9, 0xFA, 0xDB, 0xE5, 0xCC, 0xF0, 0xD1, 0xEE, 0xC5, 0xF8, 0xD4, 0xE9,
    0xCF, 0xF3, 0xDE, 0xC1,
];
const WINDOW: usize = 13;

struct Ram {
    rec: [u8; RECORD_LEN],
    ms: u64,
    fail_writes: bool,
}

/// The fuzzed token's hardware id: host bytes addressed to it reach its state machine, any
/// other address must be refused without a change.
const ID: HardwareId = HardwareId([0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18]);

impl Platform for Ram {
    fn hardware_id(&self) -> [u8; 8] {
        ID.0
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
        self.rec = *record;
        Ok(())
    }
    /// Deterministic and below 0x80, so a generated seed or device key can never be taken
    /// for a window of SEED (all ≥ 0xC0).
    fn fill_random(&mut self, buf: &mut [u8]) -> Result<(), RngError> {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (self.ms as u8).wrapping_add((i as u8).wrapping_mul(37)) & 0x7F;
        }
        Ok(())
    }
}

fn leaks_seed(bytes: &[u8]) -> bool {
    SEED.windows(WINDOW)
        .any(|w| bytes.windows(WINDOW).any(|b| b == w))
}

fn setup(mode: u8, ram: &mut Ram, app: &mut TokenApp) {
    if mode % 4 == 0 {
        return; // blank
    }
    let params = if mode % 4 == 2 {
        Params {
            hash: Hash::Sha256,
            digits: 8,
            mode: Mode::Hotp { counter: 7 },
        }
    } else {
        Params::DEFAULT_TOTP
    };
    let prov = Request::Provision {
        hardware_id: ID,
        provision: Provision {
            seed: Seed::new(&SEED).expect("20 bytes"),
            serial: Serial::parse("78160641").expect("serial"),
            expiry: Date::new(2031, 1, 31).expect("date"),
            params,
        },
    };
    assert_eq!(
        app.handle(
            ram,
            &Request::SetTime {
                hardware_id: ID,
                unix_time: 1_700_000_000
            }
        ),
        Response::Ack
    );
    assert_eq!(app.handle(ram, &prov), Response::Ack);
    if mode % 4 == 3 {
        assert_eq!(
            app.handle(ram, &Request::Lock { hardware_id: ID }),
            Response::Ack
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let (mode, chunk, stream) = match data {
        [m, c, rest @ ..] => (*m, usize::from(*c).max(1), rest),
        _ => return,
    };
    let mut ram = Ram {
        rec: [0xFF; RECORD_LEN],
        ms: 5_000,
        fail_writes: false,
    };
    let mut app = TokenApp::new();
    // First boot: the device key is made and stored before anything is measured.
    app.boot(&mut ram);
    setup(mode, &mut ram, &mut app);
    ram.fail_writes = mode & 0x10 != 0;
    if mode & 0x20 != 0 {
        app.reboot(); // reload the record from "flash"
    }

    // Does any request in the stream reach this token's state machine?
    let mut acc = Accumulator::new();
    let addressed_here = stream.iter().any(|&b| {
        matches!(acc.push(b), Some(Event::Frame(f))
            if decode_request(f).is_ok_and(|(_, r)| r.target() == Some(ID)))
    });
    let before = ram.rec;

    let mut sent: Vec<Vec<u8>> = Vec::new();
    for part in stream.chunks(chunk) {
        app.on_bytes(&mut ram, part, |frame| sent.push(frame.to_vec()));
        ram.ms += 700;
    }
    for frame in &sent {
        assert!(!leaks_seed(frame), "the seed went out on the wire");
        assert_eq!(frame.last(), Some(&0), "a response ends with its delimiter");
        let decoded = decode_response(frame);
        assert!(
            decoded.is_ok(),
            "the token sent a frame that does not decode: {decoded:?}"
        );
    }
    if !addressed_here {
        assert!(
            ram.rec == before,
            "requests for other tokens (or none) changed this token"
        );
    }
    // The stored record is the token's own business, but a cleared one must not keep the seed
    // readable through the protocol either: Identify never shows it (protocol version 3,
    // seq 1: spec/wire-format.md §8).
    app.on_bytes(
        &mut ram,
        &[0x04, 0x03, 0x01, 0x01, 0x05, 0x84, 0x2b, 0x28, 0x2b, 0x00],
        |f| {
            assert!(!leaks_seed(f));
        },
    );
});
