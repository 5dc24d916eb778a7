//! Pooled connections and writer-locked transactions, shared by the bank's store and the
//! mailing room's (`mailroom-postgres`): both take the same [`WRITER_LOCK`], so a campaign
//! plan and a registration never interleave — as on SQLite, where both share one file lock.

use crate::{tx, Target, WRITER_LOCK};
use lifecycle::StoreError;
use postgres::NoTls;
use r2d2_postgres::PostgresConnectionManager;
use std::time::Duration;

type Manager = PostgresConnectionManager<NoTls>;

/// A node's pool of connections to one database (a clone shares the pool).
#[derive(Clone)]
pub struct Pool {
    pool: r2d2::Pool<Manager>,
    target: Target,
}

impl Pool {
    /// A pool of at most `size` connections, opened on demand (none at start).
    pub fn new(target: Target, size: u32) -> Self {
        let manager = PostgresConnectionManager::new(target.config().clone(), NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(size.max(1))
            .min_idle(Some(0))
            // A broken connection is noticed by `is_closed` and by the retry in `begin`; a
            // ping on every checkout would cost one round trip per use case.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(5))
            .build_unchecked(manager);
        Pool { pool, target }
    }

    /// The database (no password).
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Connections open and idle.
    pub fn state(&self) -> (u32, u32) {
        let s = self.pool.state();
        (s.connections, s.idle_connections)
    }

    /// The most connections the pool opens.
    pub fn max_size(&self) -> u32 {
        self.pool.max_size()
    }

    /// The readiness query (issue #16): `SELECT 1` on a pooled connection, waiting at most
    /// 2 s for one. Never takes the writer lock, so a long import does not make nodes
    /// look unready.
    pub fn ping(&self) -> Result<(), StoreError> {
        let mut c = self.pool.get_timeout(Duration::from_secs(2)).map_err(|e| {
            StoreError::Backend(format!(
                "database unavailable: no connection to {} ({e})",
                self.target
            ))
        })?;
        c.simple_query("SELECT 1")
            .map(|_| ())
            .map_err(tx::unavailable)
    }

    /// A pooled connection, outside any transaction.
    pub fn get(&self) -> Result<r2d2::PooledConnection<Manager>, StoreError> {
        self.pool.get().map_err(|e| {
            StoreError::Backend(format!(
                "database unavailable: no connection to {} ({e})",
                self.target
            ))
        })
    }

    /// `BEGIN` and the writer lock on a pooled connection. A pooled connection may have died
    /// with a server restart; nothing was done yet, so one fresh connection is tried before
    /// the database is reported unavailable.
    pub fn begin(&self) -> Result<Open, StoreError> {
        let mut conn = self.get()?;
        if let Err(e) = conn.batch_execute("BEGIN") {
            if !(e.is_closed() || e.as_db_error().is_none()) {
                return Err(tx::unavailable(e));
            }
            drop(conn);
            conn = self.get()?;
            conn.batch_execute("BEGIN").map_err(tx::unavailable)?;
        }
        let mut open = Open { conn: Some(conn) };
        open.client()
            .execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK])
            .map_err(tx::unavailable)?;
        Ok(open)
    }
}

/// A connection inside `BEGIN` holding the writer lock: rolled back when dropped without
/// [`Open::commit`] (an `Err` from the use case, or a panic), so a pooled connection never
/// returns to the pool mid-transaction.
pub struct Open {
    conn: Option<r2d2::PooledConnection<Manager>>,
}

impl Open {
    /// The connection.
    pub fn client(&mut self) -> &mut postgres::Client {
        self.conn
            .as_deref_mut()
            .unwrap_or_else(|| unreachable!("used after commit"))
    }

    /// `COMMIT`.
    pub fn commit(mut self) -> Result<(), StoreError> {
        let r = self.client().batch_execute("COMMIT").map_err(tx::backend);
        self.conn = None;
        r
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        if let Some(c) = self.conn.as_mut() {
            let _ = c.batch_execute("ROLLBACK");
        }
    }
}
