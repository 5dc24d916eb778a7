//! The serial registry's contract, run on every implementation: SQLite always; PostgreSQL on
//! the server named by `TOKENLINE_TEST_PG_URL` (`scripts/pg run -- cargo nextest run -p
//! provision`), each test in a schema of its own. `TOKENLINE_REQUIRE_PG=1` makes a missing
//! server an error instead of running the suite on SQLite only.
#![allow(clippy::unwrap_used)]

use provision::registry::{RegistryError, RegistrySpec, Reservation};
use provision::SerialRange;

fn res(batch: &str, range: &str, journal: &str, host: &str) -> Reservation {
    Reservation {
        batch: batch.into(),
        serials: SerialRange::parse(range).unwrap(),
        journal: journal.into(),
        host: host.into(),
        reserved_at_ms: 1_790_000_000_000,
    }
}

/// Registry specs to run on: a SQLite file, and a fresh PostgreSQL schema when a server is given.
fn specs(dir: &std::path::Path, name: &str) -> Vec<RegistrySpec> {
    let mut v = vec![RegistrySpec::Sqlite(dir.join(format!("{name}.sqlite")))];
    match std::env::var("TOKENLINE_TEST_PG_URL") {
        Ok(url) => {
            let schema = format!("reg_{name}_{}", std::process::id());
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            c.batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .unwrap();
            let sep = if url.contains('?') { '&' } else { '?' };
            v.push(RegistrySpec::parse(&format!(
                "{url}{sep}options=-csearch_path%3D{schema}"
            )));
        }
        Err(_) => assert!(
            std::env::var("TOKENLINE_REQUIRE_PG").as_deref() != Ok("1"),
            "TOKENLINE_REQUIRE_PG=1 but TOKENLINE_TEST_PG_URL is not set"
        ),
    }
    v
}

#[test]
fn two_line_hosts_sharing_a_registry_never_get_overlapping_ranges() {
    let tmp = tempfile::tempdir().unwrap();
    for spec in specs(tmp.path(), "overlap") {
        let mut host1 = spec.open().unwrap();
        let mut host2 = spec.open().unwrap();
        host1
            .reserve(&res(
                "B2026-11",
                "10000001-10000200",
                "/srv/line1/B2026-11",
                "line-1",
            ))
            .unwrap();
        let e = host2
            .reserve(&res(
                "DUP",
                "10000150-10000300",
                "/srv/line2/batch-dup",
                "line-2",
            ))
            .unwrap_err();
        assert!(matches!(e, RegistryError::Overlap { .. }), "{spec:?}: {e}");
        let msg = e.to_string();
        assert!(
            msg.contains("overlaps batch B2026-11") && msg.contains("line-1"),
            "{msg}"
        );
        host2
            .reserve(&res(
                "B2026-12",
                "10000201-10000400",
                "/srv/line2/B2026-12",
                "line-2",
            ))
            .unwrap();
        // The same reservation again (a run restarted before its journal existed) is accepted.
        host1
            .reserve(&res(
                "B2026-11",
                "10000001-10000200",
                "/srv/line1/B2026-11",
                "line-1",
            ))
            .unwrap();
        let e = host1
            .reserve(&res(
                "B2026-11",
                "20000001-20000010",
                "/srv/line1/other",
                "line-1",
            ))
            .unwrap_err();
        assert!(matches!(e, RegistryError::DuplicateBatch { .. }), "{e}");
        let list = host1.list().unwrap();
        assert_eq!(
            list.iter()
                .map(|r| (r.batch.as_str(), r.host.as_str()))
                .collect::<Vec<_>>(),
            [("B2026-11", "line-1"), ("B2026-12", "line-2")],
            "{spec:?}"
        );
        assert_eq!(
            list[0],
            res(
                "B2026-11",
                "10000001-10000200",
                "/srv/line1/B2026-11",
                "line-1"
            )
        );
    }
}

#[test]
fn concurrent_overlapping_reservations_let_exactly_one_through() {
    let tmp = tempfile::tempdir().unwrap();
    for spec in specs(tmp.path(), "race") {
        spec.open().unwrap(); // create the table before the race
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let spec = spec.clone();
                std::thread::spawn(move || {
                    let mut reg = spec.open().unwrap();
                    reg.reserve(&res(
                        &format!("R{i}"),
                        "30000001-30000100",
                        &format!("/j/R{i}"),
                        "h",
                    ))
                    .is_ok()
                })
            })
            .collect();
        let won = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|ok| *ok)
            .count();
        assert_eq!(won, 1, "{spec:?}");
        assert_eq!(spec.open().unwrap().list().unwrap().len(), 1);
    }
}

#[test]
fn a_wrong_postgres_url_is_refused_without_showing_its_password() {
    let e = RegistrySpec::parse("postgres://line:s3cret@127.0.0.1:1/reg")
        .open()
        .err()
        .expect("no server on port 1");
    let msg = e.to_string();
    assert!(
        msg.contains("cannot connect") && !msg.contains("s3cret"),
        "{msg}"
    );
    assert!(msg.contains("postgres://line:***@127.0.0.1:1/reg"), "{msg}");
}
