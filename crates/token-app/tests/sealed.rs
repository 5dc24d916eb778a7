//! Seeds born on the token (spec/wire-format.md §10): the device key made at first boot,
//! GenerateSealed in every state, and the record the bank opens — on the RAM platform.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Ram, ME, OTHER};
use otp_core::Params;
use sealed_seed::x25519_public;
use token_app::TokenApp;
use token_proto::*;

const BANK_SECRET: [u8; 32] = [0x42; 32];
const T: u64 = 1_111_111_109;

fn request(bank_secret: &[u8; 32], serial: &str) -> SealRequest {
    SealRequest {
        bank_public: x25519_public(bank_secret),
        bank_key_id: [9; 8],
        seed_len: 20,
        serial: Serial::parse(serial).unwrap(),
        expiry: Date::new(2031, 1, 31).unwrap(),
        params: Params::DEFAULT_TOTP,
    }
}

fn generate(app: &mut TokenApp, p: &mut Ram, req: SealRequest) -> Response {
    app.handle(
        p,
        &Request::GenerateSealed {
            hardware_id: ME,
            request: req,
        },
    )
}

fn info(app: &mut TokenApp, p: &mut Ram) -> Info {
    match app.handle(p, &Request::Identify) {
        Response::Info(i) => i,
        other => panic!("{other:?}"),
    }
}

/// Opens a record as the bank does; the test learns the seed only this way.
fn open(sealed: &Sealed, req: &SealRequest) -> Vec<u8> {
    let mut out = [0u8; 64];
    let n = sealed
        .open(&BANK_SECRET, &req.binding(ME), &mut out)
        .unwrap();
    out[..n].to_vec()
}

#[test]
fn first_boot_makes_a_device_key_that_identify_reports_and_reboots_keep() {
    let mut p = Ram::new();
    let mut app = TokenApp::new();
    let key = app.boot(&mut p).unwrap();
    assert_eq!(info(&mut app, &mut p).device_key, Some(key));
    app.reboot();
    assert_eq!(app.boot(&mut p), Some(key));
    // Another blank token makes another key.
    let mut p2 = Ram::new();
    p2.drawn = 100;
    assert_ne!(TokenApp::new().boot(&mut p2), Some(key));
}

#[test]
fn generate_sealed_keeps_a_seed_the_bank_opens_and_the_display_shows_its_codes() {
    let mut p = Ram::new();
    let mut app = TokenApp::new();
    let device = app.boot(&mut p).unwrap();
    let req = request(&BANK_SECRET, "10000001");
    let Response::Sealed(sealed) = generate(&mut app, &mut p, req) else {
        panic!("no sealed record")
    };
    sealed
        .verify(&device, &req.bank_public, &req.binding(ME))
        .unwrap();
    let seed = open(&sealed, &req);
    assert_eq!(seed.len(), 20);
    app.handle(
        &mut p,
        &Request::SetTime {
            hardware_id: ME,
            unix_time: T,
        },
    );
    let Response::Display(code) = app.handle(&mut p, &Request::ReadDisplay { hardware_id: ME })
    else {
        panic!("no display")
    };
    assert_eq!(
        code.value(),
        otp_core::code(&Params::DEFAULT_TOTP, &seed, T).unwrap()
    );
    let i = info(&mut app, &mut p);
    assert_eq!(i.state, State::Provisioned);
    assert_eq!(i.credential.unwrap().serial.as_str(), "10000001");
}

#[test]
fn identical_retry_gets_the_identical_record_even_after_lock() {
    let mut p = Ram::new();
    let mut app = TokenApp::new();
    let req = request(&BANK_SECRET, "10000001");
    let first = generate(&mut app, &mut p, req);
    assert!(matches!(first, Response::Sealed(_)));
    assert_eq!(generate(&mut app, &mut p, req), first);
    app.handle(
        &mut p,
        &Request::SetTime {
            hardware_id: ME,
            unix_time: T,
        },
    );
    assert_eq!(
        app.handle(&mut p, &Request::Lock { hardware_id: ME }),
        Response::Ack
    );
    app.reboot();
    assert_eq!(generate(&mut app, &mut p, req), first);
}

#[test]
fn a_provisioned_token_never_seals_its_seed_to_another_key_or_serial() {
    let mut p = Ram::new();
    let mut app = TokenApp::new();
    generate(&mut app, &mut p, request(&BANK_SECRET, "10000001"));
    for other in [
        request(&[0x43; 32], "10000001"),
        request(&BANK_SECRET, "10000002"),
    ] {
        assert_eq!(
            generate(&mut app, &mut p, other),
            Response::Error(WireError::ConflictingProvision)
        );
    }
    let mut longer = request(&BANK_SECRET, "10000001");
    longer.seed_len = 32;
    assert_eq!(
        generate(&mut app, &mut p, longer),
        Response::Error(WireError::ConflictingProvision)
    );
}

#[test]
fn a_locked_token_refuses_a_different_generate_sealed() {
    let mut p = Ram::new();
    let mut app = TokenApp::new();
    generate(&mut app, &mut p, request(&BANK_SECRET, "10000001"));
    app.handle(
        &mut p,
        &Request::SetTime {
            hardware_id: ME,
            unix_time: T,
        },
    );
    app.handle(&mut p, &Request::Lock { hardware_id: ME });
    assert_eq!(
        generate(&mut app, &mut p, request(&[0x43; 32], "10000001")),
        Response::Error(WireError::Locked)
    );
}

#[test]
fn generate_sealed_for_another_token_changes_nothing() {
    let mut p = Ram::new();
    let mut app = TokenApp::new();
    let resp = app.handle(
        &mut p,
        &Request::GenerateSealed {
            hardware_id: OTHER,
            request: request(&BANK_SECRET, "10000001"),
        },
    );
    assert_eq!(resp, Response::Error(WireError::WrongToken));
    assert_eq!(info(&mut app, &mut p).state, State::Blank);
}

#[test]
fn a_low_order_bank_key_is_refused_and_the_token_stays_blank() {
    let mut p = Ram::new();
    let mut app = TokenApp::new();
    let mut req = request(&BANK_SECRET, "10000001");
    req.bank_public = [0; 32];
    assert_eq!(
        generate(&mut app, &mut p, req),
        Response::Error(WireError::WeakBankKey)
    );
    assert_eq!(info(&mut app, &mut p).state, State::Blank);
}

#[test]
fn a_failed_rng_is_reported_and_nothing_is_stored() {
    let mut p = Ram::new();
    let mut app = TokenApp::new();
    app.boot(&mut p).unwrap();
    p.fail_rng = true;
    assert_eq!(
        generate(&mut app, &mut p, request(&BANK_SECRET, "10000001")),
        Response::Error(WireError::RngFailure)
    );
    assert_eq!(info(&mut app, &mut p).state, State::Blank);
    // A token whose RNG failed at first boot reports no key and generates nothing.
    let mut q = Ram::new();
    q.fail_rng = true;
    let mut app = TokenApp::new();
    assert_eq!(app.boot(&mut q), None);
    assert_eq!(info(&mut app, &mut q).device_key, None);
    assert_eq!(
        generate(&mut app, &mut q, request(&BANK_SECRET, "10000001")),
        Response::Error(WireError::RngFailure)
    );
}

#[test]
fn factory_reset_wipes_the_seed_but_keeps_the_device_key() {
    let mut p = Ram::new();
    let mut app = TokenApp::new();
    let key = app.boot(&mut p).unwrap();
    let first = generate(&mut app, &mut p, request(&BANK_SECRET, "10000001"));
    assert_eq!(
        app.handle(&mut p, &Request::FactoryReset { hardware_id: ME }),
        Response::Ack
    );
    app.reboot();
    assert_eq!(app.boot(&mut p), Some(key));
    // A new seed: the record differs.
    let second = generate(&mut app, &mut p, request(&BANK_SECRET, "10000001"));
    assert!(matches!(second, Response::Sealed(_)));
    assert_ne!(second, first);
}

#[test]
fn the_stored_record_is_what_survives_power_loss() {
    let mut p = Ram::new();
    let mut app = TokenApp::new();
    let req = request(&BANK_SECRET, "10000001");
    let Response::Sealed(sealed) = generate(&mut app, &mut p, req) else {
        panic!()
    };
    let mut app = TokenApp::new(); // power cycle: only the stored record remains
    let Response::Sealed(again) = generate(&mut app, &mut p, req) else {
        panic!()
    };
    assert_eq!(open(&again, &req), open(&sealed, &req));
}
