//! One damaged row does not block what does not need it, as on SQLite
//! (`lifecycle::contract::damaged_lists`): a revocation reads only its target, a listing
//! lists every whole row and names the damaged one, `bank audit verify` reports a damaged
//! entry as a broken link.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lifecycle::contract::damaged_lists::{self, DamageBench};
use lifecycle_postgres::testing::TestSchema;
use lifecycle_postgres::{Environment, MasterKey, PgStore};
use std::cell::RefCell;

/// Banks in schemas of their own, kept until the test ends.
#[derive(Default)]
struct Pg {
    schemas: RefCell<Vec<TestSchema>>,
}

impl DamageBench for Pg {
    type S = PgStore;

    fn damaged(&self, fill: &dyn Fn(&PgStore), sql: &[&str]) -> PgStore {
        let schema = TestSchema::new().expect("checked in the test");
        let key = MasterKey::generate().unwrap();
        fill(&PgStore::create(schema.url(), &key, Environment::Staging).unwrap());
        let mut c = lifecycle_postgres::Target::parse(schema.url())
            .unwrap()
            .connect()
            .unwrap();
        // As a careless hand would: without the foreign keys' checks.
        c.batch_execute("SET session_replication_role = replica")
            .unwrap();
        for s in sql {
            assert_eq!(c.execute(*s, &[]).unwrap(), 1, "{s} must change one row");
        }
        let store = PgStore::open(schema.url(), &key).unwrap();
        self.schemas.borrow_mut().push(schema);
        store
    }
}

#[test]
fn one_damaged_row_blocks_no_command_that_does_not_need_it_on_postgres() {
    if TestSchema::new().is_none() {
        return;
    }
    damaged_lists::run_all(&Pg::default());
}
