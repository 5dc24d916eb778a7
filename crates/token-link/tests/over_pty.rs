//! token-link against token-sim tokens over real pseudo-terminals.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use otp_core::{Hash, Mode, Params};
use token_link::{LinkError, LinkOptions, TokenLink};
use token_proto::{Date, HardwareId, Provision, Seed, Serial, State, WireError};
use token_sim::{SimOptions, Simulator};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn provision(seed: &[u8], serial: &str) -> Provision {
    Provision {
        seed: Seed::new(seed).unwrap(),
        serial: Serial::parse(serial).unwrap(),
        expiry: Date::new(2031, 1, 31).unwrap(),
        params: Params::DEFAULT_TOTP,
    }
}

fn opts() -> LinkOptions {
    LinkOptions {
        timeout: Duration::from_millis(400),
        first_timeout: Duration::from_secs(2),
        retries: 5,
        baud_rate: 115_200,
    }
}

#[test]
fn provisioned_token_shows_the_totp_of_its_seed_and_refuses_writes_once_locked() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(SimOptions::new(1, dir.path())).unwrap();
    let device = sim.stations()[0].device.clone();
    let mut link = TokenLink::open(&device, opts()).unwrap();

    let info = link.identify().unwrap();
    assert_eq!(info.state, State::Blank);
    assert_eq!(info.credential, None);
    let id = info.hardware_id;

    let seed = b"12345678901234567890";
    let p = provision(seed, "10000001");
    let t = now();
    link.set_time(id, t).unwrap();
    link.provision(id, &p).unwrap();
    link.provision(id, &p).unwrap(); // an identical retry is acknowledged

    let shown = link.read_display(id).unwrap();
    // The code is TOTP of the seed at the token's time step (RFC 6238 §4.2).
    assert!(shown.moving_factor >= t / 30 && shown.moving_factor <= now() / 30 + 1);
    let expected = otp_core::totp(Hash::Sha1, seed, shown.moving_factor * 30, 30, 0, 6).unwrap();
    assert_eq!(shown.value(), expected);
    assert_eq!(shown.as_str().len(), 6);

    link.lock(id).unwrap();
    let info = link.identify().unwrap();
    assert_eq!(info.state, State::Locked);
    assert_eq!(info.credential.unwrap().serial.as_str(), "10000001");

    assert!(matches!(
        link.provision(id, &provision(b"another seed", "10000002")),
        Err(LinkError::Token(WireError::Locked))
    ));
    assert!(matches!(
        link.factory_reset(id),
        Err(LinkError::Token(WireError::Locked))
    ));
    assert!(matches!(
        link.set_time(id, now()),
        Err(LinkError::Token(WireError::Locked))
    ));
    // A locked token still shows codes.
    assert!(link.read_display(id).is_ok());
}

#[test]
fn different_provision_on_a_provisioned_token_conflicts_until_factory_reset() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(SimOptions::new(1, dir.path())).unwrap();
    let mut link = TokenLink::open(&sim.stations()[0].device, opts()).unwrap();
    let id = link.identify().unwrap().hardware_id;
    link.provision(id, &provision(b"first seed", "SKTH12345"))
        .unwrap();
    let other = provision(b"second seed", "SKTH12345");
    assert!(matches!(
        link.provision(id, &other),
        Err(LinkError::Token(WireError::ConflictingProvision))
    ));
    link.factory_reset(id).unwrap();
    assert_eq!(link.identify().unwrap().state, State::Blank);
    link.provision(id, &other).unwrap();
}

#[test]
fn hotp_token_advances_its_counter_per_press() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(SimOptions::new(1, dir.path())).unwrap();
    let mut link = TokenLink::open(&sim.stations()[0].device, opts()).unwrap();
    let id = link.identify().unwrap().hardware_id;
    let mut p = provision(b"12345678901234567890", "23456789");
    p.params = Params {
        hash: Hash::Sha1,
        digits: 6,
        mode: Mode::Hotp { counter: 0 },
    };
    link.provision(id, &p).unwrap();
    // RFC 4226 Appendix D: 755224, 287082, 359152.
    for (counter, code) in [(0, "755224"), (1, "287082"), (2, "359152")] {
        let d = link.read_display(id).unwrap();
        assert_eq!((d.moving_factor, d.as_str()), (counter, code));
    }
    // Locking an HOTP token needs no clock.
    link.lock(id).unwrap();
}

#[test]
fn restarted_simulator_keeps_its_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let (hwid, device) = {
        let sim = Simulator::start(SimOptions::new(1, dir.path())).unwrap();
        let st = sim.stations()[0].clone();
        let mut link = TokenLink::open(&st.device, opts()).unwrap();
        link.set_time(st.hardware_id, now()).unwrap();
        link.provision(st.hardware_id, &provision(b"kept seed", "10000042"))
            .unwrap();
        (st.hardware_id, st.device)
    };
    let sim = Simulator::start(SimOptions::new(1, dir.path())).unwrap();
    let st = sim.stations()[0].clone();
    assert_eq!(st.hardware_id, hwid);
    assert_eq!(st.state, State::Provisioned);
    let _ = device;
    let mut link = TokenLink::open(&st.link, opts()).unwrap();
    let info = link.identify().unwrap();
    assert_eq!(info.credential.unwrap().serial.as_str(), "10000042");
    assert!(info.clock.is_some());
    let d = link.read_display(st.hardware_id).unwrap();
    let expected =
        otp_core::totp(Hash::Sha1, b"kept seed", d.moving_factor * 30, 30, 0, 6).unwrap();
    assert_eq!(d.value(), expected);
}

#[test]
fn a_busy_port_and_a_missing_port_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(SimOptions::new(1, dir.path())).unwrap();
    let device = sim.stations()[0].device.clone();
    let _first = TokenLink::open(&device, opts()).unwrap();
    assert!(matches!(TokenLink::open(&device, opts()), Err(LinkError::PortBusy(p)) if p == device));
    let missing = dir.path().join("no-such-port");
    assert!(
        matches!(TokenLink::open(&missing, opts()), Err(LinkError::PortNotFound(p)) if p == missing)
    );
}

#[test]
fn reopening_a_port_many_times_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(SimOptions::new(1, dir.path())).unwrap();
    let device = sim.stations()[0].device.clone();
    for _ in 0..5 {
        let mut link = TokenLink::open(&device, opts()).unwrap();
        assert_eq!(link.identify().unwrap().state, State::Blank);
    }
}

#[test]
fn unplugged_token_is_reported_as_port_gone() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = SimOptions::new(1, dir.path());
    o.unplug_after = Some(2);
    let sim = Simulator::start(o).unwrap();
    let mut link = TokenLink::open(&sim.stations()[0].device, opts()).unwrap();
    link.identify().unwrap();
    let err = link.identify().unwrap_err();
    assert!(matches!(err, LinkError::PortGone(_)), "{err:?}");
}

#[test]
fn a_request_for_another_token_is_reported_as_wrong_token_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(SimOptions::new(1, dir.path())).unwrap();
    let mut link = TokenLink::open(&sim.stations()[0].device, opts()).unwrap();
    let id = link.identify().unwrap().hardware_id;
    link.set_time(id, now()).unwrap();
    link.provision(id, &provision(b"rework seed", "10000077"))
        .unwrap();
    let before = link.identify().unwrap();
    // The token a station held before this one.
    let gone = HardwareId([0x0f; 8]);
    assert_ne!(gone, id);
    let refused = [
        link.lock(gone).unwrap_err(),
        link.factory_reset(gone).unwrap_err(),
        link.set_time(gone, now() + 3600).unwrap_err(),
        link.provision(gone, &provision(b"seed of serial X", "10000078"))
            .unwrap_err(),
        link.read_display(gone).unwrap_err(),
    ];
    for err in refused {
        assert!(
            matches!(err, LinkError::WrongToken { addressed } if addressed == gone),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("station changed") && text.contains(&gone.to_string()),
            "{text}"
        );
    }
    let after = link.identify().unwrap();
    assert_eq!(after.state, State::Provisioned, "not locked, not reset");
    assert_eq!(after.credential, before.credential, "not rewritten");
    assert!(after.clock.unwrap() < now() + 60, "clock not moved");
}

/// A pty pair whose token side runs `peer` on every request frame it receives (COBS-decoded,
/// without the delimiter) and sends back what it returns. Returns the host's device path.
fn scripted_port(
    peer: impl Fn(&[u8]) -> Option<Vec<u8>> + Send + 'static,
) -> (std::path::PathBuf, impl Drop) {
    use serialport::{SerialPort, TTYPort};
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    struct Stop(Arc<AtomicBool>, Option<std::thread::JoinHandle<()>>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
            if let Some(h) = self.1.take() {
                let _ = h.join();
            }
        }
    }
    let (mut master, slave) = TTYPort::pair().unwrap();
    let device = std::path::PathBuf::from(slave.name().unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let running = stop.clone();
    let handle = std::thread::spawn(move || {
        let _slave = slave; // keep the pty open for the host
        let mut frame = Vec::new();
        let mut buf = [0u8; 256];
        master.set_timeout(Duration::from_millis(20)).unwrap();
        while !running.load(Ordering::SeqCst) {
            let n = match master.read(&mut buf) {
                Ok(n) => n,
                Err(_) => continue,
            };
            for &b in &buf[..n] {
                if b != 0 {
                    frame.push(b);
                    continue;
                }
                if frame.is_empty() {
                    continue;
                }
                let mut raw = [0u8; 256];
                let len = token_proto::cobs_decode(&frame, &mut raw).unwrap_or(0);
                frame.clear();
                if let Some(answer) = peer(&raw[..len]) {
                    master.write_all(&answer).unwrap();
                }
            }
        }
    });
    (device, Stop(stop, Some(handle)))
}

/// A frame as a token speaking protocol `version` sends it: header, payload, CRC, COBS, 0x00.
fn wire_frame(version: u8, kind: u8, seq: [u8; 2], payload: &[u8]) -> Vec<u8> {
    let mut raw = vec![version, kind, seq[0], seq[1]];
    raw.extend_from_slice(payload);
    raw.extend_from_slice(&token_proto::crc32(&raw).to_le_bytes());
    let mut out = vec![0u8; raw.len() + 2];
    let n = token_proto::cobs_encode(&raw, &mut out).unwrap();
    out.truncate(n);
    out.push(0);
    out
}

#[test]
fn a_token_speaking_protocol_version_1_is_reported_as_such_not_as_a_bad_cable() {
    // A version-1 token answers a version-2 request UnsupportedVersion (0x03) in a version-1
    // frame, echoing the request's sequence number.
    let (device, _peer) = scripted_port(|req| Some(wire_frame(1, 0xFF, [req[2], req[3]], &[0x03])));
    let mut link = TokenLink::open(&device, opts()).unwrap();
    let err = link.identify().unwrap_err();
    assert!(matches!(err, LinkError::UnsupportedVersion), "{err:?}");
    assert!(err.to_string().contains("protocol version"), "{err}");
    assert_eq!(link.stats().retries, 0, "no use resending");
}

#[test]
fn no_answer_names_the_timeout_and_the_option_that_raises_it() {
    // A station whose token never answers (as at 1200 baud with a 100 ms timeout).
    let (device, _peer) = scripted_port(|_| None);
    let o = LinkOptions {
        timeout: Duration::from_millis(100),
        first_timeout: Duration::from_millis(100),
        retries: 1,
        baud_rate: 115_200,
    };
    let mut link = TokenLink::open(&device, o).unwrap();
    let err = link.identify().unwrap_err();
    assert!(
        matches!(
            err,
            LinkError::Timeout {
                attempts: 2,
                timeout_ms: 100
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    for needle in ["within 100 ms", "cable", "--timeout-ms", "baud"] {
        assert!(text.contains(needle), "{needle:?} missing in: {text}");
    }
}
