//! The firmware image under QEMU speaks the token protocol over its UART: tokens boot with
//! their own hardware ids, provision, show the codes of their seed, refuse writes once locked,
//! and survive malformed and oversized frames.
//!
//! These tests build the firmware image (release) if needed and start real QEMU processes.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use otp_core::{Hash, Mode, Params};
use token_link::{LinkError, LinkOptions, TokenLink};
use token_proto::{
    cobs_encode, crc32, decode_response, Date, HardwareId, Provision, Response, Seed, Serial,
    State, WireError, MAX_WIRE_LEN, PROTOCOL_VERSION,
};
use token_qemu::{find_or_build_image, QemuLine};

/// RFC 6238 Appendix B's SHA-1 seed.
const RFC6238_SEED: &[u8] = b"12345678901234567890";

fn image() -> PathBuf {
    find_or_build_image(|msg| eprintln!("{msg}")).expect("firmware image")
}

fn link(path: &Path) -> TokenLink {
    TokenLink::open(
        path,
        LinkOptions {
            first_timeout: Duration::from_secs(5),
            ..LinkOptions::default()
        },
    )
    .expect("open the token's pty")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

fn totp_provision(serial: &str) -> Provision {
    Provision {
        seed: Seed::new(RFC6238_SEED).expect("seed"),
        serial: Serial::parse(serial).expect("serial"),
        expiry: Date::new(2031, 1, 31).expect("date"),
        params: Params {
            hash: Hash::Sha1,
            digits: 6,
            mode: Mode::Totp { period: 30, t0: 0 },
        },
    }
}

/// The TOTP code for `seed` at host time, for the time step the token says it used.
fn expected_code(params: &Params, step: u64) -> u32 {
    let Mode::Totp { period, t0 } = params.mode else {
        panic!("TOTP expected")
    };
    otp_core::code(params, RFC6238_SEED, t0 + step * u64::from(period)).expect("code")
}

#[test]
fn two_qemu_tokens_boot_blank_with_their_own_hardware_ids_and_stop_on_drop() {
    let dir = tempfile::tempdir().expect("tempdir");
    let line = QemuLine::start(&image(), 2, dir.path()).expect("start two QEMU tokens");
    let st = line.stations().to_vec();
    assert_eq!(st.len(), 2);
    assert_ne!(st[0].hardware_id, st[1].hardware_id);
    assert_eq!(st[0].station, "station-01");
    for s in &st {
        assert_eq!(s.state, State::Blank);
        assert_eq!(std::fs::read_link(&s.link).expect("symlink"), s.device);
        let info = link(&s.link).identify().expect("identify");
        assert_eq!(info.hardware_id, s.hardware_id);
        assert_eq!(info.state, State::Blank);
        assert_eq!(info.clock, None);
    }
    // The diagnostics UART names the firmware and the id, nothing secret.
    let log = std::fs::read_to_string(&st[0].diag_log).expect("diag log");
    assert!(
        log.contains(&format!("hwid={} boot", st[0].hardware_id)),
        "{log}"
    );

    drop(line);
    for s in &st {
        assert!(!s.link.exists(), "the symlink is removed");
        let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(s.pid as i32), None).is_ok();
        assert!(
            !alive,
            "QEMU {} still runs after the line was dropped",
            s.pid
        );
    }
}

#[test]
fn provisioned_qemu_token_displays_the_rfc6238_code_of_its_seed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let line = QemuLine::start(&image(), 1, dir.path()).expect("start");
    let mut token = link(&line.stations()[0].device);
    let id = line.stations()[0].hardware_id;
    let prov = totp_provision("23456789");
    token.set_time(id, unix_now()).expect("set time");
    token.provision(id, &prov).expect("provision");
    let info = token.identify().expect("identify");
    assert_eq!(info.state, State::Provisioned);
    assert_eq!(info.credential.map(|c| c.serial), Some(prov.serial));

    let shown = token.read_display(id).expect("read display");
    let host_step = unix_now() / 30;
    assert!(
        shown.moving_factor.abs_diff(host_step) <= 1,
        "token step {} vs host {}",
        shown.moving_factor,
        host_step
    );
    assert!(otp_core::codes_equal(
        shown.value(),
        expected_code(&prov.params, shown.moving_factor)
    ));

    // An identical retry is acknowledged, a different seed is refused.
    token.provision(id, &prov).expect("identical retry");
    let other = Provision {
        seed: Seed::new(b"another seed of 20 b").expect("seed"),
        ..prov
    };
    assert!(matches!(
        token.provision(id, &other),
        Err(LinkError::Token(WireError::ConflictingProvision))
    ));
}

#[test]
fn hotp_qemu_token_shows_rfc4226_codes_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let line = QemuLine::start(&image(), 1, dir.path()).expect("start");
    let mut token = link(&line.stations()[0].device);
    let id = line.stations()[0].hardware_id;
    let prov = Provision {
        params: Params {
            hash: Hash::Sha1,
            digits: 6,
            mode: Mode::Hotp { counter: 0 },
        },
        ..totp_provision("33456789")
    };
    token.provision(id, &prov).expect("provision");
    // RFC 4226 Appendix D: counters 0, 1, 2.
    for (counter, code) in [(0, "755224"), (1, "287082"), (2, "359152")] {
        let shown = token.read_display(id).expect("press");
        assert_eq!((shown.moving_factor, shown.as_str()), (counter, code));
    }
}

#[test]
fn locked_qemu_token_refuses_provision_factory_reset_and_set_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let line = QemuLine::start(&image(), 1, dir.path()).expect("start");
    let mut token = link(&line.stations()[0].device);
    let id = line.stations()[0].hardware_id;
    let prov = totp_provision("78160641");
    token.set_time(id, unix_now()).expect("set time");
    token.provision(id, &prov).expect("provision");
    token.lock(id).expect("lock");

    let other = Provision {
        seed: Seed::new(b"replacement seed 20b").expect("seed"),
        ..prov.clone()
    };
    assert!(matches!(
        token.provision(id, &other),
        Err(LinkError::Token(WireError::Locked))
    ));
    assert!(matches!(
        token.provision(id, &prov),
        Err(LinkError::Token(WireError::Locked))
    ));
    assert!(matches!(
        token.factory_reset(id),
        Err(LinkError::Token(WireError::Locked))
    ));
    assert!(matches!(
        token.set_time(id, unix_now()),
        Err(LinkError::Token(WireError::Locked))
    ));
    let info = token.identify().expect("identify");
    assert_eq!(info.state, State::Locked);
    let shown = token
        .read_display(id)
        .expect("a locked token still shows codes");
    assert!(otp_core::codes_equal(
        shown.value(),
        expected_code(&prov.params, shown.moving_factor)
    ));
}

/// Sends raw bytes and returns the first response frame, decoded.
fn raw_exchange(port: &mut serialport::TTYPort, bytes: &[u8]) -> (u16, Response) {
    port.write_all(bytes).expect("write");
    let mut acc = token_proto::Accumulator::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 64];
    while Instant::now() < deadline {
        let n = match port.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(e) => panic!("read: {e}"),
        };
        for &b in &buf[..n] {
            if let Some(token_proto::Event::Frame(f)) = acc.push(b) {
                return decode_response(f).expect("a well-formed response");
            }
        }
    }
    panic!("no response within 5 s");
}

fn frame(version: u8, kind: u8, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut raw = vec![version, kind];
    raw.extend_from_slice(&seq.to_le_bytes());
    raw.extend_from_slice(payload);
    let crc = crc32(&raw);
    raw.extend_from_slice(&crc.to_le_bytes());
    let mut enc = [0u8; MAX_WIRE_LEN * 2];
    let n = cobs_encode(&raw, &mut enc).expect("fits");
    let mut wire = enc[..n].to_vec();
    wire.push(0);
    wire
}

/// The firmware refuses every request addressed to another hardware id and changes nothing:
/// a resent write never reaches the next token on the station (spec/wire-format.md §4.1).
#[test]
fn qemu_token_refuses_requests_addressed_to_another_token_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let line = QemuLine::start(&image(), 1, dir.path()).expect("start");
    let mut token = link(&line.stations()[0].device);
    let id = line.stations()[0].hardware_id;
    let prov = totp_provision("88160641");
    token.set_time(id, unix_now()).expect("set time");
    token.provision(id, &prov).expect("provision");
    let before = token.identify().expect("identify");

    let mut gone = id.0;
    gone[7] ^= 0x01;
    let gone = HardwareId(gone);
    let other = Provision {
        seed: Seed::new(b"the seed of serial X").expect("seed"),
        ..totp_provision("88160642")
    };
    for err in [
        token.lock(gone).expect_err("lock"),
        token.factory_reset(gone).expect_err("factory reset"),
        token.set_time(gone, 2_000_000_000).expect_err("set time"),
        token.provision(gone, &other).expect_err("provision"),
        token.read_display(gone).expect_err("read display"),
    ] {
        assert!(
            matches!(err, LinkError::WrongToken { addressed } if addressed == gone),
            "{err:?}"
        );
    }
    let after = token.identify().expect("identify");
    assert_eq!(after.state, State::Provisioned, "not locked, not reset");
    assert_eq!(after.credential, before.credential, "not rewritten");
    assert!(
        after.clock.expect("clock") < unix_now() + 60,
        "clock not moved"
    );
}

#[test]
fn malformed_and_oversized_frames_get_protocol_errors_and_the_qemu_token_keeps_working() {
    let dir = tempfile::tempdir().expect("tempdir");
    let line = QemuLine::start(&image(), 1, dir.path()).expect("start");
    let st = &line.stations()[0];
    let mut port = serialport::new(st.device.to_string_lossy(), 115_200)
        .timeout(Duration::from_millis(200))
        .open_native()
        .expect("open pty");

    // Oversized: 1000 bytes without a delimiter (the UART ring holds 512: flow control, no loss).
    let (seq, resp) = raw_exchange(&mut port, &[[0x55u8; 1000].as_slice(), &[0]].concat());
    assert_eq!(
        (seq, resp),
        (
            token_proto::SEQ_UNKNOWN,
            Response::Error(WireError::FrameTooLarge)
        )
    );

    // Bad CRC: a valid Identify with one byte flipped after encoding.
    let mut bad = frame(PROTOCOL_VERSION, 0x01, 7, &[]);
    bad[2] ^= 0x40;
    let (_, resp) = raw_exchange(&mut port, &bad);
    assert!(
        matches!(
            resp,
            Response::Error(WireError::BadCrc | WireError::Malformed)
        ),
        "{resp:?}"
    );

    // Not COBS / too short.
    let (_, resp) = raw_exchange(&mut port, &[0x05, 0x01, 0]);
    assert_eq!(resp, Response::Error(WireError::Malformed));

    // Unknown kind, wrong version, truncated SetTime payload: each answered with its seq.
    assert_eq!(
        raw_exchange(&mut port, &frame(PROTOCOL_VERSION, 0x7e, 9, &[])),
        (9, Response::Error(WireError::UnknownMessage))
    );
    assert_eq!(
        raw_exchange(&mut port, &frame(9, 0x01, 10, &[])),
        (10, Response::Error(WireError::UnsupportedVersion))
    );
    // Protocol version 1's (unaddressed) Lock.
    assert_eq!(
        raw_exchange(&mut port, &frame(1, 0x05, 13, &[])),
        (13, Response::Error(WireError::UnsupportedVersion))
    );
    assert_eq!(
        raw_exchange(&mut port, &frame(PROTOCOL_VERSION, 0x02, 11, &[1, 2, 3])),
        (11, Response::Error(WireError::Malformed))
    );

    // Still working: a proper Identify is answered with this token's id.
    match raw_exchange(&mut port, &frame(PROTOCOL_VERSION, 0x01, 12, &[])) {
        (12, Response::Info(info)) => assert_eq!(info.hardware_id, st.hardware_id),
        other => panic!("expected Info, got {other:?}"),
    }
    drop(port);
    let log = std::fs::read_to_string(&st.diag_log).expect("diag log");
    assert!(
        !log.contains("hw_overruns=") || log.contains("hw_overruns=0 "),
        "no byte lost: {log}"
    );
}

#[test]
fn a_burst_of_pipelined_requests_larger_than_the_uart_ring_is_answered_completely_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let line = QemuLine::start(&image(), 1, dir.path()).expect("start");
    let st = &line.stations()[0];
    let mut port = serialport::new(st.device.to_string_lossy(), 115_200)
        .timeout(Duration::from_millis(200))
        .open_native()
        .expect("open pty");
    // 150 Identify frames (about 1.4 KiB) written at once: more than the firmware's 512-byte
    // receive ring, so the UART's flow control must hold bytes back rather than drop them.
    let burst: Vec<u8> = (0..150u16)
        .flat_map(|seq| frame(PROTOCOL_VERSION, 0x01, seq, &[]))
        .collect();
    assert!(burst.len() > 1024);
    port.write_all(&burst).expect("write burst");

    let mut acc = token_proto::Accumulator::new();
    let mut seqs = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 256];
    while seqs.len() < 150 && Instant::now() < deadline {
        let n = match port.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(e) => panic!("read: {e}"),
        };
        for &b in &buf[..n] {
            if let Some(token_proto::Event::Frame(f)) = acc.push(b) {
                let (seq, resp) = decode_response(f).expect("well-formed response");
                assert!(
                    matches!(resp, Response::Info(ref i) if i.hardware_id == st.hardware_id),
                    "{resp:?}"
                );
                seqs.push(seq);
            }
        }
    }
    assert_eq!(
        seqs,
        (0..150u16).collect::<Vec<_>>(),
        "every request answered once, in order"
    );
    let log = std::fs::read_to_string(&st.diag_log).expect("diag log");
    assert!(
        !log.contains("hw_overruns=") || log.contains("hw_overruns=0 "),
        "no byte lost: {log}"
    );
    eprintln!("{}", log.trim());
}
