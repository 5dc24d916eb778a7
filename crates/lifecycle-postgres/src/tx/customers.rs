//! Customers' rows.

use super::{backend, clamp, PgTx};
use crate::rows::{self, get};
use lifecycle::store::CustomerRows;
use lifecycle::{Customer, CustomerId, SecretHash, StoreError};

impl CustomerRows for PgTx<'_> {
    fn insert_customer(&mut self, c: &Customer) -> Result<(), StoreError> {
        self.flush()?;
        let n = self
            .tx
            .execute(
                "INSERT INTO customers (id, name, mode, secret_hash) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[
                    &c.id.as_str(),
                    &c.name,
                    &c.mode.as_str(),
                    &c.secret.as_ref().map(SecretHash::as_phc),
                ],
            )
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Duplicate {
                what: "customer",
                key: c.id.to_string(),
            });
        }
        Ok(())
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
        let rows = self
            .tx
            .query(
                "SELECT id FROM customers WHERE lower(id) = ANY($1) ORDER BY id",
                &[&lowered],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let id: String = r.get(0);
                CustomerId::parse(&id).map_err(|e| StoreError::Corrupt(format!("customer id: {e}")))
            })
            .collect()
    }

    fn customer(&mut self, cid: &CustomerId) -> Result<Option<Customer>, StoreError> {
        self.flush()?;
        let row = self
            .tx
            .query_opt(
                "SELECT id, name, mode, secret_hash FROM customers WHERE id = $1",
                &[&cid.as_str()],
            )
            .map_err(backend)?;
        row.map(|r| rows::customer_at(&r, 0)).transpose()
    }

    fn update_customer(&mut self, c: &Customer) -> Result<(), StoreError> {
        self.flush()?;
        let n = self
            .tx
            .execute(
                "UPDATE customers SET name = $2, mode = $3, secret_hash = $4 WHERE id = $1",
                &[
                    &c.id.as_str(),
                    &c.name,
                    &c.mode.as_str(),
                    &c.secret.as_ref().map(SecretHash::as_phc),
                ],
            )
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Missing {
                what: "customer",
                key: c.id.to_string(),
            });
        }
        Ok(())
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
        let rows = self
            .tx
            .query(
                "SELECT id, name, mode, secret_hash FROM customers ORDER BY id LIMIT $1 OFFSET $2",
                &[&clamp(limit), &clamp(offset)],
            )
            .map_err(backend)?;
        let out = rows
            .iter()
            .map(|r| rows::customer_at(r, 0))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((u64::try_from(total).unwrap_or_default(), out))
    }
}
