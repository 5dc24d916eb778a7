//! token-link against token-sim tokens over real pseudo-terminals.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use otp_core::{Hash, Mode, Params};
use token_link::{LinkError, LinkOptions, TokenLink};
use token_proto::{Date, Provision, Seed, Serial, State, WireError};
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

    let seed = b"12345678901234567890";
    let p = provision(seed, "10000001");
    let t = now();
    link.set_time(t).unwrap();
    link.provision(&p).unwrap();
    link.provision(&p).unwrap(); // an identical retry is acknowledged

    let shown = link.read_display().unwrap();
    // The code is TOTP of the seed at the token's time step (RFC 6238 §4.2).
    assert!(shown.moving_factor >= t / 30 && shown.moving_factor <= now() / 30 + 1);
    let expected = otp_core::totp(Hash::Sha1, seed, shown.moving_factor * 30, 30, 0, 6).unwrap();
    assert_eq!(shown.value(), expected);
    assert_eq!(shown.as_str().len(), 6);

    link.lock().unwrap();
    let info = link.identify().unwrap();
    assert_eq!(info.state, State::Locked);
    assert_eq!(info.credential.unwrap().serial.as_str(), "10000001");

    assert!(matches!(
        link.provision(&provision(b"another seed", "10000002")),
        Err(LinkError::Token(WireError::Locked))
    ));
    assert!(matches!(
        link.factory_reset(),
        Err(LinkError::Token(WireError::Locked))
    ));
    assert!(matches!(
        link.set_time(now()),
        Err(LinkError::Token(WireError::Locked))
    ));
    // A locked token still shows codes.
    assert!(link.read_display().is_ok());
}

#[test]
fn different_provision_on_a_provisioned_token_conflicts_until_factory_reset() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(SimOptions::new(1, dir.path())).unwrap();
    let mut link = TokenLink::open(&sim.stations()[0].device, opts()).unwrap();
    link.provision(&provision(b"first seed", "SKTH12345"))
        .unwrap();
    let other = provision(b"second seed", "SKTH12345");
    assert!(matches!(
        link.provision(&other),
        Err(LinkError::Token(WireError::ConflictingProvision))
    ));
    link.factory_reset().unwrap();
    assert_eq!(link.identify().unwrap().state, State::Blank);
    link.provision(&other).unwrap();
}

#[test]
fn hotp_token_advances_its_counter_per_press() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(SimOptions::new(1, dir.path())).unwrap();
    let mut link = TokenLink::open(&sim.stations()[0].device, opts()).unwrap();
    let mut p = provision(b"12345678901234567890", "23456789");
    p.params = Params {
        hash: Hash::Sha1,
        digits: 6,
        mode: Mode::Hotp { counter: 0 },
    };
    link.provision(&p).unwrap();
    // RFC 4226 Appendix D: 755224, 287082, 359152.
    for (counter, code) in [(0, "755224"), (1, "287082"), (2, "359152")] {
        let d = link.read_display().unwrap();
        assert_eq!((d.moving_factor, d.as_str()), (counter, code));
    }
    // Locking an HOTP token needs no clock.
    link.lock().unwrap();
}

#[test]
fn restarted_simulator_keeps_its_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let (hwid, device) = {
        let sim = Simulator::start(SimOptions::new(1, dir.path())).unwrap();
        let st = sim.stations()[0].clone();
        let mut link = TokenLink::open(&st.device, opts()).unwrap();
        link.set_time(now()).unwrap();
        link.provision(&provision(b"kept seed", "10000042"))
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
    let d = link.read_display().unwrap();
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
