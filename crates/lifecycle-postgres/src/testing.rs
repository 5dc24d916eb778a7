//! Test databases: each test gets its own schema on the server named by
//! `TOKENLINE_TEST_PG_URL` (`./scripts/test` starts a throwaway cluster and sets it; a
//! developer may point it at another server), so PostgreSQL tests run in parallel.
//!
//! Without the variable a test is skipped with a message, unless `TOKENLINE_REQUIRE_PG=1`
//! (set by `./scripts/test`), which makes a missing server a failure.

use std::fmt;

/// The variable naming the test server (a superuser or a user that may create schemas).
pub const URL_ENV: &str = "TOKENLINE_TEST_PG_URL";

/// One test's own schema; dropped (with everything in it) when this value is dropped.
pub struct TestSchema {
    admin_url: String,
    name: String,
    url: String,
}

impl fmt::Debug for TestSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TestSchema({})", self.name)
    }
}

impl TestSchema {
    /// A fresh empty schema, or `None` (test skipped) when no test server is configured.
    /// Panics when the server cannot be reached: a configured server that fails is a failure.
    pub fn new() -> Option<Self> {
        let Ok(admin_url) = std::env::var(URL_ENV) else {
            if std::env::var("TOKENLINE_REQUIRE_PG").is_ok_and(|v| v == "1") {
                panic!("{URL_ENV} is not set but TOKENLINE_REQUIRE_PG=1: start a server with scripts/pg run -- …");
            }
            eprintln!("skipped: {URL_ENV} is not set (./scripts/test starts a PostgreSQL cluster and sets it)");
            return None;
        };
        let mut r = [0u8; 8];
        getrandom::fill(&mut r).unwrap_or_else(|e| panic!("OS random generator: {e}"));
        let name = format!("t_{}", hex::encode(r));
        let mut c = crate::Target::parse(&admin_url)
            .and_then(|t| t.connect())
            .unwrap_or_else(|e| panic!("test server {URL_ENV}: {e}"));
        c.batch_execute(&format!("CREATE SCHEMA {name}"))
            .unwrap_or_else(|e| panic!("creating schema {name}: {e}"));
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options=-csearch_path%3D{name}");
        Some(TestSchema {
            admin_url,
            name,
            url,
        })
    }

    /// The URL of this schema (the server's URL with `search_path` set to it).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server's URL (for statements outside the schema).
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        if let Ok(mut c) = crate::Target::parse(&self.admin_url).and_then(|t| t.connect()) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}
