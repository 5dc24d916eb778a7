//! Customers' rows.

use super::{clamp, first, inserted, sql, updated, SqlTx};
use lifecycle::store::columns::{customer_at, Reading, CUSTOMERS, CUSTOMER_COLS};
use lifecycle::store::CustomerRows;
use lifecycle::{Customer, CustomerId, SecretHash, StoreError};
use rusqlite::params;

impl CustomerRows for SqlTx<'_> {
    fn insert_customer(&mut self, c: &Customer) -> Result<(), StoreError> {
        let r = self.run(
            &format!("INSERT INTO customers ({CUSTOMER_COLS}) VALUES (?1, ?2, ?3, ?4)"),
            customer_params(c),
        );
        inserted(r, "customer", || c.id.to_string())
    }

    fn customer_ids_ignoring_case(
        &mut self,
        ids: &[CustomerId],
    ) -> Result<Vec<CustomerId>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for any number of IDs: the lowered IDs as a JSON array (SQLite's
        // json_each); `lower()` of SQLite folds ASCII only, which is what IDs are.
        let lowered: Vec<String> = ids
            .iter()
            .map(|i| i.as_str().to_ascii_lowercase())
            .collect();
        let list = serde_json::to_string(&lowered)
            .map_err(|e| StoreError::Backend(format!("customer IDs: {e}")))?;
        self.select(
            "SELECT id FROM customers WHERE lower(id) IN (SELECT value FROM json_each(?1)) ORDER BY id",
            [list],
            |r| Reading::new(r, 0, &CUSTOMERS).id(0, CustomerId::parse),
        )
    }

    fn customer(&mut self, cid: &CustomerId) -> Result<Option<Customer>, StoreError> {
        first(self.select(
            &format!("SELECT {CUSTOMER_COLS} FROM customers WHERE id = ?1"),
            [cid.as_str()],
            |r| customer_at(r, 0),
        ))
    }

    fn update_customer(&mut self, c: &Customer) -> Result<(), StoreError> {
        let r = self.run(
            "UPDATE customers SET name = ?2, mode = ?3, secret_hash = ?4 WHERE id = ?1",
            customer_params(c),
        );
        updated(r, "customer", || c.id.to_string())
    }

    fn customers_page(
        &mut self,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<Customer>), StoreError> {
        let total: i64 = sql(self
            .tx
            .query_row("SELECT COUNT(*) FROM customers", [], |r| r.get(0)))?;
        let out = self.select(
            &format!("SELECT {CUSTOMER_COLS} FROM customers ORDER BY id LIMIT ?1 OFFSET ?2"),
            params![clamp(limit), clamp(offset)],
            |r| customer_at(r, 0),
        )?;
        Ok((total as u64, out))
    }
}

/// A customer's columns in [`CUSTOMER_COLS`]' order, as `?1` to `?4`.
fn customer_params(c: &Customer) -> impl rusqlite::Params + '_ {
    (
        c.id.as_str(),
        c.name.as_str(),
        c.mode.as_str(),
        c.secret.as_ref().map(SecretHash::as_phc),
    )
}
