//! Seeds born on the QEMU token (protocol version 3): the firmware makes its device key at
//! first boot from its ChaCha20 DRBG (seeded with the launcher's boot entropy), and a
//! GenerateSealed answers a record that only the bank's key opens, signed by that device key,
//! whose seed gives the codes the token displays. Two tokens never draw the same seed.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use otp_core::Params;
use token_link::{LinkOptions, TokenLink};
use token_proto::{Date, SealRequest, Serial, State};
use token_qemu::{find_or_build_image, QemuLine};

const BANK_SECRET: [u8; 32] = [0x42; 32];

fn image() -> PathBuf {
    find_or_build_image(|msg| eprintln!("{msg}")).expect("firmware image")
}

fn request(serial: &str) -> SealRequest {
    SealRequest {
        bank_public: sealed_seed::x25519_public(&BANK_SECRET),
        bank_key_id: [7; 8],
        seed_len: 20,
        serial: Serial::parse(serial).expect("serial"),
        expiry: Date::new(2031, 1, 31).expect("date"),
        params: Params::DEFAULT_TOTP,
    }
}

#[test]
fn qemu_tokens_seal_their_own_seeds_to_the_bank_and_display_their_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let line = QemuLine::start(&image(), 2, dir.path()).expect("start two QEMU tokens");
    let mut seeds = Vec::new();
    for (i, st) in line.stations().iter().enumerate() {
        let mut token = TokenLink::open(
            &st.device,
            LinkOptions {
                first_timeout: Duration::from_secs(5),
                ..LinkOptions::default()
            },
        )
        .expect("open");
        let info = token.identify().expect("identify");
        let device = info.device_key.expect("a device key made at first boot");
        let id = info.hardware_id;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        token.set_time(id, now).expect("set time");
        let req = request(&format!("1000000{}", i + 1));
        let sealed = token.generate_sealed(id, &req).expect("generate sealed");
        // A resend after a lost answer gets the same bytes.
        assert_eq!(token.generate_sealed(id, &req).expect("again"), sealed);
        sealed
            .verify(&device, &req.bank_public, &req.binding(id))
            .expect("the device signature verifies");
        let mut seed = [0u8; 64];
        let n = sealed
            .open(&BANK_SECRET, &req.binding(id), &mut seed)
            .expect("the bank opens it");
        let code = token.read_display(id).expect("display");
        let t = u64::from(30u32) * code.moving_factor;
        assert_eq!(
            code.value(),
            otp_core::code(&Params::DEFAULT_TOTP, &seed[..n], t).expect("code")
        );
        token.lock(id).expect("lock");
        assert_eq!(token.identify().expect("identify").state, State::Locked);
        // The key survives: Identify after the work reports the same one.
        assert_eq!(token.identify().expect("identify").device_key, Some(device));
        seeds.push(seed[..n].to_vec());
    }
    assert_ne!(seeds[0], seeds[1], "two tokens drew the same seed");
    let log = std::fs::read_to_string(&line.stations()[0].diag_log).expect("diag log");
    assert!(log.contains("device key: ready"), "{log}");
}
