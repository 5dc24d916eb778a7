//! Every command in every state, on a RAM platform (STYLE.md: "the host simulator runs the
//! same app code with RAM storage: most tests run there").
#![allow(clippy::unwrap_used)]

use otp_core::{Hash, Mode, Params};
use token_app::{TokenApp, MIN_UNIX_TIME, RECORD_LEN};
use token_proto::*;

mod common;
use common::{Ram, ME, OTHER};

const SEED: &[u8] = b"12345678901234567890";
const T: u64 = 1_111_111_109; // RFC 6238 Appendix B

fn prov(seed: &[u8], params: Params) -> Request {
    prov_to(ME, seed, params)
}

fn prov_to(hardware_id: HardwareId, seed: &[u8], params: Params) -> Request {
    Request::Provision {
        hardware_id,
        provision: Provision {
            seed: Seed::new(seed).unwrap(),
            serial: Serial::parse("78160641").unwrap(),
            expiry: Date::new(2025, 1, 31).unwrap(),
            params,
        },
    }
}

fn set_time(unix_time: u64) -> Request {
    Request::SetTime {
        hardware_id: ME,
        unix_time,
    }
}

fn read_display() -> Request {
    Request::ReadDisplay { hardware_id: ME }
}

fn lock() -> Request {
    Request::Lock { hardware_id: ME }
}

fn factory_reset() -> Request {
    Request::FactoryReset { hardware_id: ME }
}

fn totp8() -> Params {
    Params {
        hash: Hash::Sha1,
        digits: 8,
        mode: Mode::Totp { period: 30, t0: 0 },
    }
}

fn err(e: WireError) -> Response {
    Response::Error(e)
}

fn info(app: &mut TokenApp, p: &mut Ram) -> Info {
    match app.handle(p, &Request::Identify) {
        Response::Info(i) => i,
        other => panic!("{other:?}"),
    }
}

/// A token in the given state; TOTP tokens have their clock set to `T`.
fn token_in(state: State) -> (TokenApp, Ram) {
    let mut app = TokenApp::new();
    let mut p = Ram::new();
    if state != State::Blank {
        assert_eq!(app.handle(&mut p, &set_time(T)), Response::Ack);
        assert_eq!(app.handle(&mut p, &prov(SEED, totp8())), Response::Ack);
    }
    if state == State::Locked {
        assert_eq!(app.handle(&mut p, &lock()), Response::Ack);
    }
    assert_eq!(app.state(&mut p), state);
    (app, p)
}

// ------------------------------------------------------------------ blank

#[test]
fn blank_token_identifies_with_no_credential_and_no_clock() {
    let (mut app, mut p) = token_in(State::Blank);
    let i = info(&mut app, &mut p);
    assert_eq!(i.state, State::Blank);
    assert_eq!(i.credential, None);
    assert_eq!(i.clock, None);
    assert_eq!(i.hardware_id.to_string(), "a1b2c3d4e5f60718");
    assert_eq!(i.firmware, token_app::FIRMWARE_VERSION);
}

#[test]
fn blank_token_shows_nothing_and_cannot_be_locked() {
    let (mut app, mut p) = token_in(State::Blank);
    assert_eq!(
        app.handle(&mut p, &read_display()),
        err(WireError::NotProvisioned)
    );
    assert_eq!(app.handle(&mut p, &lock()), err(WireError::NotProvisioned));
}

#[test]
fn blank_token_factory_reset_is_a_harmless_ack() {
    let (mut app, mut p) = token_in(State::Blank);
    assert_eq!(app.handle(&mut p, &factory_reset()), Response::Ack);
    assert_eq!(app.state(&mut p), State::Blank);
}

#[test]
fn set_time_before_2000_is_refused_as_an_unset_host_clock() {
    let (mut app, mut p) = token_in(State::Blank);
    assert_eq!(
        app.handle(&mut p, &set_time(59)),
        err(WireError::InvalidTime)
    );
    assert_eq!(app.handle(&mut p, &set_time(MIN_UNIX_TIME)), Response::Ack);
}

#[test]
fn clock_runs_from_the_time_base() {
    let (mut app, mut p) = token_in(State::Blank);
    app.handle(&mut p, &set_time(T));
    p.ms += 61_999;
    assert_eq!(info(&mut app, &mut p).clock, Some(T + 61));
}

#[test]
fn clock_offset_shifts_the_reading_for_the_simulator() {
    let mut app = TokenApp::with_clock_offset(-90);
    let mut p = Ram::new();
    app.handle(&mut p, &set_time(T));
    assert_eq!(info(&mut app, &mut p).clock, Some(T - 90));
}

#[test]
fn a_restarted_millisecond_counter_means_the_clock_is_lost() {
    let (mut app, mut p) = token_in(State::Provisioned);
    p.ms = 10; // power cycle without a battery-backed RTC
    app.reboot();
    assert_eq!(info(&mut app, &mut p).clock, None);
    assert_eq!(
        app.handle(&mut p, &read_display()),
        err(WireError::ClockNotSet)
    );
}

// ------------------------------------------------------------------ provisioned

#[test]
fn provisioned_totp_token_shows_rfc6238_code() {
    let (mut app, mut p) = token_in(State::Provisioned);
    // RFC 6238 Appendix B: SHA-1 at 1111111109 → 07081804, T = 0x23523EC.
    match app.handle(&mut p, &read_display()) {
        Response::Display(d) => {
            assert_eq!(d.as_str(), "07081804");
            assert_eq!(d.moving_factor, 0x023523EC);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn provisioned_totp_token_without_clock_says_clock_not_set() {
    let mut app = TokenApp::new();
    let mut p = Ram::new();
    assert_eq!(app.handle(&mut p, &prov(SEED, totp8())), Response::Ack);
    assert_eq!(
        app.handle(&mut p, &read_display()),
        err(WireError::ClockNotSet)
    );
    // A TOTP token that could never get a clock must not be locked.
    assert_eq!(app.handle(&mut p, &lock()), err(WireError::ClockNotSet));
    assert_eq!(app.state(&mut p), State::Provisioned);
}

#[test]
fn identical_provision_retry_is_acked_and_a_different_one_conflicts() {
    let (mut app, mut p) = token_in(State::Provisioned);
    assert_eq!(app.handle(&mut p, &prov(SEED, totp8())), Response::Ack);
    assert_eq!(
        app.handle(&mut p, &prov(b"other seed", totp8())),
        err(WireError::ConflictingProvision)
    );
    assert_eq!(
        app.handle(&mut p, &prov(SEED, Params::DEFAULT_TOTP)),
        err(WireError::ConflictingProvision)
    );
}

#[test]
fn hotp_press_advances_the_counter_and_retry_of_provision_still_matches() {
    let mut app = TokenApp::new();
    let mut p = Ram::new();
    let hotp = Params {
        hash: Hash::Sha1,
        digits: 6,
        mode: Mode::Hotp { counter: 0 },
    };
    assert_eq!(app.handle(&mut p, &prov(SEED, hotp)), Response::Ack);
    // RFC 4226 Appendix D
    for (c, code) in [
        (0u64, "755224"),
        (1, "287082"),
        (2, "359152"),
        (3, "969429"),
    ] {
        match app.handle(&mut p, &read_display()) {
            Response::Display(d) => assert_eq!((d.moving_factor, d.as_str()), (c, code)),
            other => panic!("{other:?}"),
        }
    }
    let i = info(&mut app, &mut p);
    assert_eq!(i.credential.unwrap().params.mode, Mode::Hotp { counter: 4 });
    // The host's retried Provision still names counter 0: the same request, so Ack.
    assert_eq!(app.handle(&mut p, &prov(SEED, hotp)), Response::Ack);
    // And the counter survives a reboot.
    app.reboot();
    assert_eq!(
        info(&mut app, &mut p).credential.unwrap().params.mode,
        Mode::Hotp { counter: 4 }
    );
    assert_eq!(
        app.handle(&mut p, &lock()),
        Response::Ack,
        "HOTP needs no clock"
    );
}

#[test]
fn factory_reset_wipes_the_seed_and_keeps_the_clock() {
    let (mut app, mut p) = token_in(State::Provisioned);
    assert_eq!(app.handle(&mut p, &factory_reset()), Response::Ack);
    let i = info(&mut app, &mut p);
    assert_eq!((i.state, i.credential), (State::Blank, None));
    assert_eq!(i.clock, Some(T));
    assert!(
        !p.rec.windows(8).any(|w| SEED.windows(8).any(|s| s == w)),
        "seed bytes left in flash"
    );
    assert_eq!(
        app.handle(&mut p, &prov(b"a new seed", totp8())),
        Response::Ack
    );
}

#[test]
fn provisioned_token_accepts_set_time() {
    let (mut app, mut p) = token_in(State::Provisioned);
    assert_eq!(app.handle(&mut p, &set_time(T + 30)), Response::Ack);
    assert_eq!(info(&mut app, &mut p).clock, Some(T + 30));
}

// ------------------------------------------------------------------ locked

#[test]
fn locked_token_refuses_every_write() {
    let (mut app, mut p) = token_in(State::Locked);
    let writes = p.writes;
    assert_eq!(app.handle(&mut p, &set_time(T)), err(WireError::Locked));
    assert_eq!(
        app.handle(&mut p, &prov(SEED, totp8())),
        err(WireError::Locked)
    );
    assert_eq!(
        app.handle(&mut p, &prov(b"other", totp8())),
        err(WireError::Locked)
    );
    assert_eq!(app.handle(&mut p, &factory_reset()), err(WireError::Locked));
    assert_eq!(p.writes, writes, "nothing written");
    assert_eq!(app.state(&mut p), State::Locked);
}

#[test]
fn locked_token_still_identifies_shows_codes_and_acks_a_repeated_lock() {
    let (mut app, mut p) = token_in(State::Locked);
    let i = info(&mut app, &mut p);
    assert_eq!(i.state, State::Locked);
    assert_eq!(i.credential.unwrap().serial.as_str(), "78160641");
    assert!(matches!(
        app.handle(&mut p, &read_display()),
        Response::Display(_)
    ));
    assert_eq!(app.handle(&mut p, &lock()), Response::Ack);
}

#[test]
fn lock_survives_a_reboot() {
    let (mut app, mut p) = token_in(State::Locked);
    app.reboot();
    let mut fresh = TokenApp::new();
    assert_eq!(fresh.state(&mut p), State::Locked);
    assert_eq!(
        fresh.handle(&mut p, &factory_reset()),
        err(WireError::Locked)
    );
}

// ------------------------------------------------------------------ addressing

/// Everything a request could change: the stored record, the number of writes, and what the
/// token says about itself.
fn snapshot(app: &mut TokenApp, p: &mut Ram) -> ([u8; RECORD_LEN], usize, Info) {
    let i = info(app, p);
    (p.rec, p.writes, i)
}

/// Sends `req` (addressed to [`OTHER`]) to a token in each state: refused with WrongToken,
/// nothing written, nothing changed — also after a reboot (the record on "flash" is the same).
fn refused_everywhere(req: &Request) {
    assert_eq!(req.target(), Some(OTHER));
    for state in [State::Blank, State::Provisioned, State::Locked] {
        let (mut app, mut p) = token_in(state);
        let before = snapshot(&mut app, &mut p);
        assert_eq!(
            app.handle(&mut p, req),
            err(WireError::WrongToken),
            "{} on a {state} token",
            req.name()
        );
        assert_eq!(snapshot(&mut app, &mut p), before, "{state} token changed");
        app.reboot();
        assert_eq!(snapshot(&mut app, &mut p), before, "{state} token changed");
    }
}

#[test]
fn lock_addressed_to_another_token_is_refused_and_changes_nothing() {
    refused_everywhere(&Request::Lock { hardware_id: OTHER });
}

#[test]
fn provision_addressed_to_another_token_is_refused_and_changes_nothing() {
    // The same credential the token holds (an identical retry would be acknowledged if it
    // were addressed to it) and a different one (which would conflict or be written).
    refused_everywhere(&prov_to(OTHER, SEED, totp8()));
    refused_everywhere(&prov_to(
        OTHER,
        b"a seed for serial X",
        Params::DEFAULT_TOTP,
    ));
}

#[test]
fn set_time_addressed_to_another_token_is_refused_and_changes_nothing() {
    refused_everywhere(&Request::SetTime {
        hardware_id: OTHER,
        unix_time: T + 3600,
    });
}

#[test]
fn factory_reset_addressed_to_another_token_is_refused_and_changes_nothing() {
    refused_everywhere(&Request::FactoryReset { hardware_id: OTHER });
}

#[test]
fn read_display_addressed_to_another_token_is_refused_and_changes_nothing() {
    refused_everywhere(&Request::ReadDisplay { hardware_id: OTHER });
}

#[test]
fn read_display_addressed_to_another_hotp_token_does_not_press_its_button() {
    let mut app = TokenApp::new();
    let mut p = Ram::new();
    let hotp = Params {
        hash: Hash::Sha1,
        digits: 6,
        mode: Mode::Hotp { counter: 0 },
    };
    assert_eq!(app.handle(&mut p, &prov(SEED, hotp)), Response::Ack);
    assert_eq!(
        app.handle(&mut p, &Request::ReadDisplay { hardware_id: OTHER }),
        err(WireError::WrongToken)
    );
    // The next press still shows counter 0 (RFC 4226 Appendix D: 755224).
    match app.handle(&mut p, &read_display()) {
        Response::Display(d) => assert_eq!((d.moving_factor, d.as_str()), (0, "755224")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_address_is_checked_before_anything_else() {
    // A request for another token is WrongToken even where the token would have had another
    // objection: it was never meant for this token.
    let (mut app, mut p) = token_in(State::Provisioned);
    p.fail_writes = true;
    assert_eq!(
        app.handle(&mut p, &Request::Lock { hardware_id: OTHER }),
        err(WireError::WrongToken),
        "not StorageFailure"
    );
    assert_eq!(
        app.handle(
            &mut p,
            &Request::SetTime {
                hardware_id: OTHER,
                unix_time: 59
            }
        ),
        err(WireError::WrongToken),
        "not InvalidTime"
    );
    // Identify is unaddressed and answered by any token.
    assert_eq!(Request::Identify.target(), None);
    assert_eq!(info(&mut app, &mut p).hardware_id, ME);
}

#[test]
fn a_resent_lock_over_the_byte_stream_is_refused_by_the_next_token() {
    // The host locked token ME; the answer was lost and the host resends (new seq). Meanwhile
    // a provisioned rework token took ME's place on the station: the resend reaches it.
    let lock_me = wire(0x0100, &lock());
    let resend = wire(0x0101, &lock());
    let (mut first, mut p1) = token_in(State::Provisioned);
    assert_eq!(
        feed(&mut first, &mut p1, &lock_me),
        vec![(0x0100, Response::Ack)]
    );
    assert_eq!(first.state(&mut p1), State::Locked);

    let mut next = TokenApp::new();
    let mut p2 = Ram {
        id: OTHER,
        ..Ram::new()
    };
    let to_next = |r: Request| match r {
        Request::SetTime { unix_time, .. } => Request::SetTime {
            hardware_id: OTHER,
            unix_time,
        },
        Request::Provision { provision, .. } => Request::Provision {
            hardware_id: OTHER,
            provision,
        },
        other => other,
    };
    assert_eq!(next.handle(&mut p2, &to_next(set_time(T))), Response::Ack);
    assert_eq!(
        next.handle(&mut p2, &to_next(prov(b"rework seed", totp8()))),
        Response::Ack
    );
    assert_eq!(
        feed(&mut next, &mut p2, &resend),
        vec![(0x0101, err(WireError::WrongToken))]
    );
    assert_eq!(
        next.state(&mut p2),
        State::Provisioned,
        "not locked by mistake"
    );
}

#[test]
fn a_version_1_frame_is_refused_and_changes_nothing() {
    // Protocol version 1's Lock (unaddressed), seq 5: spec/wire-format.md §9.
    let (mut app, mut p) = token_in(State::Provisioned);
    let before = snapshot(&mut app, &mut p);
    let v1_lock = [0x04, 0x01, 0x05, 0x05, 0x05, 0xd7, 0x8e, 0x44, 0xe2, 0x00];
    assert_eq!(
        feed(&mut app, &mut p, &v1_lock),
        vec![(5, err(WireError::UnsupportedVersion))]
    );
    assert_eq!(snapshot(&mut app, &mut p), before);
}

// ------------------------------------------------------------------ storage

#[test]
fn a_failed_write_changes_nothing() {
    let (mut app, mut p) = token_in(State::Provisioned);
    p.fail_writes = true;
    assert_eq!(app.handle(&mut p, &lock()), err(WireError::StorageFailure));
    assert_eq!(
        app.handle(&mut p, &factory_reset()),
        err(WireError::StorageFailure)
    );
    assert_eq!(app.state(&mut p), State::Provisioned);
    p.fail_writes = false;
    assert_eq!(app.handle(&mut p, &lock()), Response::Ack);
}

#[test]
fn a_corrupted_record_reads_as_a_blank_token() {
    let (mut app, mut p) = token_in(State::Provisioned);
    p.rec[40] ^= 0x10;
    app.reboot();
    assert_eq!(app.state(&mut p), State::Blank);
}

// ------------------------------------------------------------------ byte stream

fn wire(seq: u16, req: &Request) -> Vec<u8> {
    let mut out = [0u8; MAX_WIRE_LEN];
    let n = encode_request(seq, req, &mut out);
    out[..n].to_vec()
}

fn feed(app: &mut TokenApp, p: &mut Ram, bytes: &[u8]) -> Vec<(u16, Response)> {
    let mut got = Vec::new();
    app.on_bytes(p, bytes, |f| got.push(decode_response(f).unwrap()));
    got
}

#[test]
fn byte_stream_answers_with_the_request_sequence_number() {
    let (mut app, mut p) = token_in(State::Blank);
    let mut stream = wire(0x1234, &Request::Identify);
    stream.extend(wire(0x1235, &set_time(T)));
    let mut got = Vec::new();
    for chunk in stream.chunks(5) {
        got.extend(feed(&mut app, &mut p, chunk));
    }
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, 0x1234);
    assert!(matches!(got[0].1, Response::Info(_)));
    assert_eq!(got[1], (0x1235, Response::Ack));
}

#[test]
fn malformed_frame_gets_an_error_and_the_token_keeps_working() {
    let (mut app, mut p) = token_in(State::Blank);
    // Garbage that is not valid COBS: no sequence number can be read.
    assert_eq!(
        feed(&mut app, &mut p, &[0x09, 0x01, 0x00]),
        vec![(SEQ_UNKNOWN, err(WireError::Malformed))]
    );
    // A corrupted CRC: the sequence number read from the header is echoed.
    let mut bad = wire(7, &Request::Identify);
    let n = bad.len();
    bad[n - 3] ^= 0x40;
    assert_eq!(
        feed(&mut app, &mut p, &bad),
        vec![(7, err(WireError::BadCrc))]
    );
    let got = feed(&mut app, &mut p, &wire(8, &Request::Identify));
    assert!(matches!(got.as_slice(), [(8, Response::Info(_))]));
}

#[test]
fn oversized_frame_gets_frame_too_large_and_the_token_keeps_working() {
    let (mut app, mut p) = token_in(State::Blank);
    let mut junk = vec![0x42u8; MAX_WIRE_LEN * 4];
    junk.push(0);
    assert_eq!(
        feed(&mut app, &mut p, &junk),
        vec![(SEQ_UNKNOWN, err(WireError::FrameTooLarge))]
    );
    assert!(matches!(
        feed(&mut app, &mut p, &wire(3, &Request::Identify)).as_slice(),
        [(3, Response::Info(_))]
    ));
}

#[test]
fn unknown_request_kind_is_answered_unknown_message() {
    let (mut app, mut p) = token_in(State::Blank);
    let raw = [PROTOCOL_VERSION, 0x77, 5, 0];
    let mut framed = raw.to_vec();
    framed.extend_from_slice(&crc32(&raw).to_le_bytes());
    let mut enc = [0u8; 32];
    let n = cobs_encode(&framed, &mut enc).unwrap();
    let mut bytes = enc[..n].to_vec();
    bytes.push(0);
    assert_eq!(
        feed(&mut app, &mut p, &bytes),
        vec![(5, err(WireError::UnknownMessage))]
    );
}

#[test]
fn no_response_in_any_state_contains_the_seed() {
    // Drive a token through its whole life over the byte stream and search every byte the
    // token sent for any 4-byte window of the seed.
    let seed: Vec<u8> = (0..64u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect();
    let mut app = TokenApp::new();
    let mut p = Ram::new();
    let mut sent = Vec::new();
    let params = [
        Params {
            hash: Hash::Sha512,
            digits: 8,
            mode: Mode::Totp { period: 60, t0: 0 },
        },
        Params {
            hash: Hash::Sha256,
            digits: 7,
            mode: Mode::Hotp { counter: 9 },
        },
    ];
    let mut seq = 0;
    for params in params {
        let script = [
            Request::Identify,
            read_display(),
            set_time(T),
            prov(&seed, params),
            prov(&seed, params),
            Request::Identify,
            read_display(),
            factory_reset(),
            prov(&seed, params),
            lock(),
            Request::Identify,
            read_display(),
            prov(&seed, params),
            factory_reset(),
        ];
        for req in &script {
            seq += 1;
            app.on_bytes(&mut p, &wire(seq, req), |f| sent.extend_from_slice(f));
        }
        p = Ram::new();
        app.reboot();
    }
    assert!(sent.len() > 200);
    assert!(!sent.windows(4).any(|w| seed.windows(4).any(|s| s == w)));
}
