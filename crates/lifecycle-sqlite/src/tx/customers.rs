//! Customers' rows.

use super::{clamp, corrupt, get, id, is_unique_violation, sql, SqlTx};
use lifecycle::store::CustomerRows;
use lifecycle::{Customer, CustomerId, SecretHash, StoreError, UsageMode};
use rusqlite::{params, OptionalExtension, Row};

impl CustomerRows for SqlTx<'_> {
    fn insert_customer(&mut self, c: &Customer) -> Result<(), StoreError> {
        let r = self
            .tx
            .prepare_cached(
                "INSERT INTO customers (id, name, mode, secret_hash) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    c.id.as_str(),
                    c.name,
                    c.mode.as_str(),
                    c.secret.as_ref().map(SecretHash::as_phc)
                ])
            });
        match r {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate {
                what: "customer",
                key: c.id.to_string(),
            }),
            r => sql(r).map(|_| ()),
        }
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
        let mut st = sql(self.tx.prepare_cached(
            "SELECT id FROM customers WHERE lower(id) IN (SELECT value FROM json_each(?1)) ORDER BY id",
        ))?;
        let found = sql(st
            .query_map([list], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>()))?;
        found
            .iter()
            .map(|id| {
                CustomerId::parse(id).map_err(|e| StoreError::Corrupt(format!("customer id: {e}")))
            })
            .collect()
    }

    fn customer(&mut self, cid: &CustomerId) -> Result<Option<Customer>, StoreError> {
        let mut st = sql(self
            .tx
            .prepare_cached("SELECT id, name, mode, secret_hash FROM customers WHERE id = ?1"))?;
        let row = sql(st
            .query_row([cid.as_str()], |r| Ok(customer_at(r)))
            .optional())?;
        row.transpose()
    }

    fn update_customer(&mut self, c: &Customer) -> Result<(), StoreError> {
        let n = sql(self
            .tx
            .prepare_cached(
                "UPDATE customers SET name = ?2, mode = ?3, secret_hash = ?4 WHERE id = ?1",
            )
            .and_then(|mut st| {
                st.execute(params![
                    c.id.as_str(),
                    c.name,
                    c.mode.as_str(),
                    c.secret.as_ref().map(SecretHash::as_phc)
                ])
            }))?;
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
        let total: i64 = sql(self
            .tx
            .query_row("SELECT COUNT(*) FROM customers", [], |r| r.get(0)))?;
        let ids: Vec<String> = {
            let mut st = sql(self
                .tx
                .prepare_cached("SELECT id FROM customers ORDER BY id LIMIT ?1 OFFSET ?2"))?;
            let rows = sql(st.query_map(params![clamp(limit), clamp(offset)], |r| r.get(0)))?;
            sql(rows.collect())?
        };
        let mut out = Vec::with_capacity(ids.len());
        for i in ids {
            if let Some(c) = self.customer(&id(i, CustomerId::parse)?)? {
                out.push(c);
            }
        }
        Ok((total as u64, out))
    }
}

/// A customer from a row of `id, name, mode, secret_hash`.
fn customer_at(r: &Row<'_>) -> Result<Customer, StoreError> {
    let mode: String = get(r, 2)?;
    Ok(Customer {
        id: id(get(r, 0)?, CustomerId::parse)?,
        name: get(r, 1)?,
        mode: UsageMode::parse(&mode).ok_or_else(|| corrupt("usage mode", &mode))?,
        secret: get::<Option<String>>(r, 3)?.map(SecretHash::from_phc),
    })
}
