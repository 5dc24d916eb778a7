//! Customers' rows.

use super::{backend, clamp, first, inserted, PgTx};
use crate::rows::get;
use lifecycle::store::columns::{customer_at, written, Reading, CUSTOMERS, CUSTOMER_COLS};
use lifecycle::store::CustomerRows;
use lifecycle::{Customer, CustomerId, SecretHash, StoreError};

impl CustomerRows for PgTx<'_> {
    fn insert_customer(&mut self, c: &Customer) -> Result<(), StoreError> {
        let n = self.write_customer(
            &format!("INSERT INTO customers ({CUSTOMER_COLS}) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"),
            c,
        )?;
        inserted(n, "customer", || c.id.to_string())
    }

    fn customer_ids_ignoring_case(
        &mut self,
        ids: &[CustomerId],
    ) -> Result<Vec<CustomerId>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.flush()?;
        // IDs are ASCII (ids.rs), which lower() folds whatever the database's locale.
        let lowered: Vec<String> = ids
            .iter()
            .map(|i| i.as_str().to_ascii_lowercase())
            .collect();
        self.select(
            "SELECT id FROM customers WHERE lower(id) = ANY($1) ORDER BY id",
            &[&lowered],
            |r| Reading::new(r, 0, &CUSTOMERS).id(0, CustomerId::parse),
        )
    }

    fn customer(&mut self, cid: &CustomerId) -> Result<Option<Customer>, StoreError> {
        first(self.select(
            &format!("SELECT {CUSTOMER_COLS} FROM customers WHERE id = $1"),
            &[&cid.as_str()],
            |r| customer_at(r, 0),
        ))
    }

    fn update_customer(&mut self, c: &Customer) -> Result<(), StoreError> {
        let n = self.write_customer(
            "UPDATE customers SET name = $2, mode = $3, secret_hash = $4 WHERE id = $1",
            c,
        )?;
        written(n, "customer", || c.id.to_string())
    }

    fn customers_page(
        &mut self,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<Customer>), StoreError> {
        self.flush()?;
        let total: i64 = self
            .tx
            .query_one("SELECT COUNT(*) FROM customers", &[])
            .map_err(backend)
            .and_then(|r| get(&r, 0))?;
        let out = self.select(
            &format!("SELECT {CUSTOMER_COLS} FROM customers ORDER BY id LIMIT $1 OFFSET $2"),
            &[&clamp(limit), &clamp(offset)],
            |r| customer_at(r, 0),
        )?;
        Ok((u64::try_from(total).unwrap_or_default(), out))
    }
}

impl PgTx<'_> {
    /// Runs `sql_text` with a customer's columns in [`CUSTOMER_COLS`]' order as `$1` to `$4`:
    /// the number of rows it changed.
    fn write_customer(&mut self, sql_text: &str, c: &Customer) -> Result<u64, StoreError> {
        self.run(
            sql_text,
            &[
                &c.id.as_str(),
                &c.name,
                &c.mode.as_str(),
                &c.secret.as_ref().map(SecretHash::as_phc),
            ],
        )
    }
}
