//! The bank's JSON API (bank-http `handle`: routing, JSON bodies, ids, query strings) on
//! arbitrary requests, over the in-memory store: a customer `C1` (usage mode individual,
//! confirmation secret), its master `taro`, and token `23456789` in stock with a known seed.
//!
//! Input: requests separated by `0x00`; each is `METHOD PATH[?QUERY]\nBODY`.
//! Invariants: nothing panics; no reply is a 5xx (the memory store cannot fail, so a 5xx would
//! be a bug); no reply shows the seed (hex in either case, or base64 of its start).
#![no_main]

use bank_http::handle;
use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use lifecycle::memory::MemoryStore;
use lifecycle::policy::SecretPolicy;
use lifecycle::*;

const SEED: &[u8] =
    b"\x9a\x0b\xe4\x1c\x7f\x33\xd2\x58\xa1\x6e\x05\xfb\x8c\x47\x12\xb9\xd0\x2a\x6d\xc3";

fn bank() -> Bank<MemoryStore> {
    let policy = Policy {
        secrets: SecretPolicy::cheap_for_tests(),
        ..Policy::default()
    };
    let bank = Bank::new(MemoryStore::new(), policy);
    let root = Caller::Local("fuzz".into());
    let t0 = Utc
        .with_ymd_and_hms(2025, 3, 3, 1, 0, 0)
        .single()
        .expect("t0");
    let token = NewToken {
        serial: SerialNumber::parse("23456789").expect("serial"),
        seed: Seed::new(SEED.to_vec()),
        params: otp_core::Params::DEFAULT_TOTP,
        expiry: chrono::NaiveDate::from_ymd_opt(2030, 1, 31).expect("date"),
        batch: "FUZZ".into(),
        drift: 0,
    };
    bank.import_tokens(&root, "sha256:fuzz", "fuzz", &[token], t0)
        .expect("import");
    let c1 = CustomerId::parse("C1").expect("id");
    bank.add_customer(
        &root,
        NewCustomer {
            id: c1.clone(),
            name: "C1".into(),
            mode: UsageMode::Individual,
            secret: Some(ConfirmationSecret::new("kakunin")),
        },
        t0,
    )
    .expect("customer");
    bank.add_user(
        &root,
        NewUser {
            login: LoginId::parse("taro").expect("login"),
            customer: c1,
            name: "taro".into(),
            class: UserClass::Master,
            needs_otp: true,
            secret: None,
        },
        t0,
    )
    .expect("user");
    bank
}

/// Whether `text` holds the seed: hex of its first 8 bytes (either case), or base64 of its
/// first 9 bytes.
fn shows_seed(text: &str) -> bool {
    let hex: String = SEED[..8].iter().map(|b| format!("{b:02x}")).collect();
    text.to_ascii_lowercase().contains(&hex) || text.contains("mgvkHH8z0lih")
}

/// Every key and string value of a JSON reply, decoded, one per line.
fn strings(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.push_str(k);
                out.push('\n');
                strings(v, out);
            }
        }
        other => {
            out.push_str(&other.to_string());
            out.push('\n');
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let bank = bank();
    // A caller holding every scope (authentication is the server's edge, not this target).
    let caller = Caller::Local("fuzz".into());
    let now = Utc
        .with_ymd_and_hms(2025, 3, 3, 2, 0, 0)
        .single()
        .expect("now");
    for req in data.split(|&b| b == 0).take(16) {
        let (head, body) = match req.iter().position(|&b| b == b'\n') {
            Some(i) => (&req[..i], &req[i + 1..]),
            None => (req, &[][..]),
        };
        let head = String::from_utf8_lossy(head);
        let (method, target) = head.split_once(' ').unwrap_or((&head, "/"));
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let q: Vec<(String, String)> = query
            .split('&')
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k.to_string(), v.to_string())
            })
            .collect();
        // A customer session from the input too (`X-Customer-Session`): forged ones must be
        // refused like any other, never answered 5xx.
        let session = q
            .iter()
            .find(|(k, _)| k == "session")
            .map(|(_, v)| v.as_str());
        let request = bank_http::routes::Request {
            method,
            path,
            query: &q,
            body,
            customer_session: session,
        };
        let reply = handle(&bank, Some(&caller), &request, now);
        assert!(
            reply.status < 500,
            "{method} {path}: {} {}",
            reply.status,
            reply.body
        );
        // Replies may echo the request (an invalid id is named); the fuzzer can learn the
        // seed's encodings from this very check, so a request that holds them is not judged.
        // The reply is judged on its decoded strings, not its JSON text: an escaped control
        // character (`\u0019`) next to echoed hex would otherwise spell the seed's hex.
        if !shows_seed(&String::from_utf8_lossy(data)) {
            let mut text = String::new();
            strings(&reply.body, &mut text);
            assert!(!shows_seed(&text), "the seed is in a reply");
        }
    }
});
