//! Mailing-room benchmark (scripts/bench.d/mailroom.sh): a bank of N customers with two users
//! and two tokens each, all expiring on the target date; times planning the campaign, showing
//! it, scanning K tokens (one transaction each), the report, and rendering one letter as PDF.
//! Prints markdown rows `| bench | figure | unit | note |`. Usage: plan_bench N [K]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use lifecycle::{
    Customer, CustomerId, LoginId, NewToken, Seed, SerialNumber, Store, TokenStatus, UsageMode,
    User, UserClass,
};
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
use mailroom::{Mailroom, PlanRequest};
use mailroom_sqlite::MailSqlite;
use std::time::Instant;

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let k: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bank.db");
    let store =
        SqliteStore::create(&path, &MasterKey::generate().unwrap(), Environment::Staging).unwrap();
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let tok = |s: u64, e: &str, b: &str| NewToken {
        serial: SerialNumber::parse(&s.to_string()).unwrap(),
        seed: Seed::new(vec![7; 20]),
        params: otp_core::Params::DEFAULT_TOTP,
        expiry: d(e),
        batch: b.into(),
        drift: 0,
    };
    store
        .transaction(|tx| {
            for c in 0..n {
                let id = CustomerId::parse(&format!("C{c:06}")).unwrap();
                tx.insert_customer(&Customer {
                    id: id.clone(),
                    name: format!("株式会社{c}"),
                    mode: UsageMode::Individual,
                    secret: None,
                })?;
                for u in 0..2u64 {
                    let serial = 20_000_000 + c * 2 + u;
                    let t = tok(serial, "2023-04-30", "OLD");
                    tx.insert_token(&t)?;
                    let mut info = t.info();
                    info.status = TokenStatus::Active {
                        customer: id.clone(),
                    };
                    tx.update_token(&info)?;
                    let mut user = User::new(
                        LoginId::parse(&format!("c{c}u{u}")).unwrap(),
                        id.clone(),
                        format!("user {u}"),
                        if u == 0 {
                            UserClass::Master
                        } else {
                            UserClass::General
                        },
                        true,
                    );
                    user.serial = Some(t.serial.clone());
                    tx.insert_user(&user)?;
                    tx.insert_token(&tok(60_000_000 + c * 2 + u, "2028-01-31", "NEW"))?;
                }
            }
            Ok(())
        })
        .unwrap();
    let m = Mailroom::new(MailSqlite::open(&path).unwrap());
    let now = Utc.with_ymd_and_hms(2023, 3, 1, 0, 0, 0).unwrap();
    let req = PlanRequest {
        name: "bench".into(),
        target_expiry: d("2023-04-30"),
        include_earlier: false,
        min_new_expiry: d("2028-01-31"),
        deadline: d("2023-04-14"),
        sender: "bench".into(),
    };
    let t = Instant::now();
    let p = m.plan(&req, now).unwrap();
    let plan_ms = t.elapsed().as_secs_f64() * 1e3;
    println!("| mailroom plan | {plan_ms:.0} | ms | {n} customers, {} tokens allocated, one transaction |", p.tokens);
    let t = Instant::now();
    let (_, env) = m.show(p.campaign.id).unwrap();
    println!(
        "| mailroom show | {:.0} | ms | {} envelopes |",
        t.elapsed().as_secs_f64() * 1e3,
        env.len()
    );
    let serials: Vec<_> = env
        .iter()
        .flat_map(|e| {
            e.new_tokens
                .iter()
                .map(move |t| (e.envelope, t.serial.clone()))
        })
        .take(k)
        .collect();
    let t = Instant::now();
    for (i, (e, s)) in serials.iter().enumerate() {
        m.scan(
            p.campaign.id,
            *e,
            s.as_str(),
            now + Duration::seconds(i as i64),
        )
        .unwrap();
    }
    let per = serials.len() as f64 / t.elapsed().as_secs_f64();
    println!("| mailroom scan | {per:.0} | scans/s | {} scans, each its own transaction (synchronous=FULL) |", serials.len());
    let t = Instant::now();
    let (_, rows) = m
        .report(p.campaign.id, chrono_tz::Asia::Tokyo, now)
        .unwrap();
    println!(
        "| mailroom report | {:.0} | ms | {} rows |",
        t.elapsed().as_secs_f64() * 1e3,
        rows.len()
    );
    if let Ok(font) = std::fs::read("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf") {
        let c = m.campaign(p.campaign.id).unwrap();
        let e = m.envelope(c.id, env[0].envelope).unwrap();
        let letter = mailroom::letter::build(
            mailroom::letter::TEMPLATE_JA,
            &c,
            &e,
            "株式会社0",
            None,
            &lifecycle::Policy::default(),
            &Default::default(),
        );
        let t = Instant::now();
        let pdf = mailroom::pdf::render(&[&letter], &font).unwrap();
        println!(
            "| mailroom letter pdf | {:.1} | ms | one letter, {} bytes (IPAGothic subset) |",
            t.elapsed().as_secs_f64() * 1e3,
            pdf.len()
        );
    }
}
