//! The simulated line over real pseudo-terminals: faults, feeding, restarts.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use otp_core::{Hash, Params};
use token_link::{LinkError, LinkOptions, TokenLink};
use token_proto::{Date, Provision, Seed, Serial, State};
use token_sim::{SimEvent, SimOptions, Simulator};

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

fn link_opts(timeout_ms: u64, retries: u32) -> LinkOptions {
    LinkOptions {
        timeout: Duration::from_millis(timeout_ms),
        first_timeout: Duration::from_millis(timeout_ms),
        retries,
        baud_rate: 115_200,
    }
}

/// The whole factory flow for one token: identify, then set time, provision, verify the
/// display, lock — each addressed to the identified token.
fn provision_and_lock(link: &mut TokenLink, seed: &[u8], serial: &str) -> Result<(), LinkError> {
    let id = link.identify()?.hardware_id;
    link.set_time(id, now())?;
    link.provision(id, &provision(seed, serial))?;
    let d = link.read_display(id)?;
    let expected = otp_core::totp(Hash::Sha1, seed, d.moving_factor * 30, 30, 0, 6).unwrap();
    assert_eq!(
        d.value(),
        expected,
        "the display shows TOTP of the provisioned seed"
    );
    link.lock(id)
}

#[test]
fn light_corruption_and_drops_are_absorbed_by_retries() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = SimOptions::new(3, dir.path());
    o.corrupt_rate = 0.003;
    o.drop_rate = 0.003;
    o.fault_seed = Some(7);
    let sim = Simulator::start(o).unwrap();
    let mut retries = 0;
    for (i, st) in sim.stations().iter().enumerate() {
        let mut link = TokenLink::open(&st.device, link_opts(150, 12)).unwrap();
        provision_and_lock(
            &mut link,
            format!("seed number {i}").as_bytes(),
            &format!("1000000{i}"),
        )
        .unwrap();
        assert_eq!(link.identify().unwrap().state, State::Locked);
        retries += link.stats().retries;
    }
    // Not asserted: how many retries it took (it depends on the random faults).
    eprintln!("retries: {retries}");
}

#[test]
fn heavy_corruption_ends_in_a_clear_timeout_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = SimOptions::new(1, dir.path());
    o.corrupt_rate = 0.5;
    o.fault_seed = Some(1);
    let sim = Simulator::start(o).unwrap();
    let mut link = TokenLink::open(&sim.stations()[0].device, link_opts(100, 2)).unwrap();
    let err = link.identify().unwrap_err();
    assert!(
        matches!(
            err,
            LinkError::Timeout {
                attempts: 3,
                timeout_ms: 100
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("within 100 ms (3 attempts)"), "{text}");
    assert!(text.contains("--timeout-ms"), "{text}");
}

#[test]
fn all_bytes_dropped_times_out_after_every_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = SimOptions::new(1, dir.path());
    o.drop_rate = 1.0;
    let sim = Simulator::start(o).unwrap();
    let mut link = TokenLink::open(&sim.stations()[0].device, link_opts(100, 1)).unwrap();
    assert!(matches!(
        link.identify(),
        Err(LinkError::Timeout { attempts: 2, .. })
    ));
}

#[test]
fn baud_pacing_still_completes_the_flow() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = SimOptions::new(1, dir.path());
    o.baud = Some(115_200);
    let sim = Simulator::start(o).unwrap();
    let mut link = TokenLink::open(&sim.stations()[0].device, link_opts(500, 3)).unwrap();
    provision_and_lock(&mut link, b"paced seed", "20000001").unwrap();
}

#[test]
fn clock_skew_shifts_the_token_clock() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = SimOptions::new(1, dir.path());
    o.clock_skew_s = -3600;
    let sim = Simulator::start(o).unwrap();
    let mut link = TokenLink::open(&sim.stations()[0].device, link_opts(500, 3)).unwrap();
    let t = now();
    let id = link.identify().unwrap().hardware_id;
    link.set_time(id, t).unwrap();
    let clock = link.identify().unwrap().clock.unwrap();
    assert!(
        clock + 3600 >= t && clock + 3600 <= now() + 1,
        "clock {clock} vs set {t}"
    );
}

/// Waits (bounded) for a station's token to be replaced by a new blank one.
fn wait_for_insert(sim: &Simulator, deadline: Instant) -> Option<SimEvent> {
    while Instant::now() < deadline {
        match sim.next_event(Duration::from_millis(100)) {
            Some(ev @ SimEvent::Inserted { .. }) => return Some(ev),
            _ => continue,
        }
    }
    None
}

#[test]
fn feed_replaces_locked_tokens_until_the_batch_has_passed() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = SimOptions::new(1, dir.path());
    o.feed = Some(3);
    o.swap_pause = Duration::from_millis(50);
    let sim = Simulator::start(o).unwrap();
    let device = sim.stations()[0].device.clone();
    let mut seen = Vec::new();
    for n in 0..3 {
        let mut link = TokenLink::open(&device, link_opts(500, 3)).unwrap();
        let info = link.identify().unwrap();
        assert_eq!(info.state, State::Blank);
        assert!(!seen.contains(&info.hardware_id), "a new token each time");
        seen.push(info.hardware_id);
        provision_and_lock(&mut link, b"fed seed", &format!("3000000{n}")).unwrap();
        if n < 2 {
            assert!(wait_for_insert(&sim, Instant::now() + Duration::from_secs(5)).is_some());
        }
    }
    assert!(sim.is_done());
    assert_eq!(sim.locked_count(), 3);
    // The third token stays: the batch is complete.
    std::thread::sleep(Duration::from_millis(150));
    let mut link = TokenLink::open(&device, link_opts(500, 3)).unwrap();
    assert_eq!(link.identify().unwrap().hardware_id, seen[2]);
}

/// A Lock resent after its answer was lost, once the technician has swapped the token: the
/// new token on the station refuses it (it is addressed to the old one) and stays as it was.
#[test]
fn a_lock_resent_after_the_swap_is_refused_by_the_new_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = SimOptions::new(1, dir.path());
    o.feed = Some(2);
    o.swap_pause = Duration::from_millis(20);
    let sim = Simulator::start(o).unwrap();
    let device = sim.stations()[0].device.clone();
    let mut link = TokenLink::open(&device, link_opts(500, 3)).unwrap();
    let first = link.identify().unwrap().hardware_id;
    provision_and_lock(&mut link, b"swap seed", "50000001").unwrap();
    let Some(SimEvent::Inserted { hardware_id, .. }) =
        wait_for_insert(&sim, Instant::now() + Duration::from_secs(5))
    else {
        panic!("the locked token was not swapped");
    };
    assert_ne!(hardware_id, first);
    // The resend of the (already carried out) Lock reaches the new token.
    let err = link.lock(first).unwrap_err();
    assert!(
        matches!(err, LinkError::WrongToken { addressed } if addressed == first),
        "{err:?}"
    );
    assert!(err.to_string().contains("station changed"), "{err}");
    let now_there = link.identify().unwrap();
    assert_eq!(now_there.hardware_id, hardware_id);
    assert_eq!(now_there.state, State::Blank, "the new token is untouched");
    // Addressed to it, the same request is carried out as usual (here: refused as blank).
    assert!(matches!(
        link.lock(hardware_id),
        Err(LinkError::Token(token_proto::WireError::NotProvisioned))
    ));
}

#[test]
fn restart_keeps_the_station_assignment_and_the_fed_count() {
    let dir = tempfile::tempdir().unwrap();
    let mk = || {
        let mut o = SimOptions::new(2, dir.path());
        o.feed = Some(3);
        o.swap_pause = Duration::from_millis(20);
        o
    };
    let first_ids = {
        let sim = Simulator::start(mk()).unwrap();
        let st = sim.stations();
        let mut link = TokenLink::open(&st[0].device, link_opts(500, 3)).unwrap();
        provision_and_lock(&mut link, b"restart seed", "40000001").unwrap();
        assert!(wait_for_insert(&sim, Instant::now() + Duration::from_secs(5)).is_some());
        sim.stations()
            .iter()
            .map(|s| s.hardware_id)
            .collect::<Vec<_>>()
    };
    let sim = Simulator::start(mk()).unwrap();
    let ids: Vec<_> = sim.stations().iter().map(|s| s.hardware_id).collect();
    assert_eq!(ids, first_ids);
    assert_eq!(sim.locked_count(), 1);
    assert!(!sim.is_done());
    // The feed is used up (2 + 1 swap = 3): locking both remaining tokens finishes it.
    for (i, st) in sim.stations().iter().enumerate() {
        let mut link = TokenLink::open(&st.link, link_opts(500, 3)).unwrap();
        provision_and_lock(&mut link, b"restart seed", &format!("4000001{i}")).unwrap();
    }
    assert!(sim.is_done());
}
