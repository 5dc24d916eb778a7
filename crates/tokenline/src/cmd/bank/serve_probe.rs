//! The database as `bank serve`'s operations endpoints see it (issue #16): the readiness
//! query of `/v1/ready` and the pool gauges of the metrics, over the stores the server
//! opened (a SQLite file, or the PostgreSQL pools of its banks).

use crate::cmd::bank_db::BankStore;
use bank_http::{PoolState, Probe};
use lifecycle_postgres::session::Pool;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// The stores of one `bank serve`.
#[derive(Default)]
pub struct NodeProbe {
    /// SQLite: the file, and how many stores (one connection each) the server opened.
    sqlite: Mutex<Option<PathBuf>>,
    sqlite_stores: AtomicU32,
    /// PostgreSQL: the pool of each store (a clone shares the pool).
    pools: Mutex<Vec<Pool>>,
}

impl NodeProbe {
    /// Notes a store the server opened (`db` is its `--db`).
    pub fn track(&self, store: &BankStore, db: &std::path::Path) {
        match store {
            BankStore::Sqlite(_) => {
                if let Ok(mut s) = self.sqlite.lock() {
                    *s = Some(db.to_owned());
                }
                self.sqlite_stores.fetch_add(1, Ordering::Relaxed);
            }
            BankStore::Postgres(p) => {
                if let Ok(mut pools) = self.pools.lock() {
                    pools.push(p.pool());
                }
            }
        }
    }

    fn sqlite_path(&self) -> Option<PathBuf> {
        self.sqlite.lock().ok().and_then(|s| s.clone())
    }

    fn first_pool(&self) -> Option<Pool> {
        self.pools.lock().ok().and_then(|p| p.first().cloned())
    }
}

impl Probe for NodeProbe {
    fn ping(&self) -> Result<(), String> {
        if let Some(pool) = self.first_pool() {
            return pool.ping().map_err(|e| e.to_string());
        }
        match self.sqlite_path() {
            Some(path) => lifecycle_sqlite::ping(&path),
            None => Err("no database opened yet".into()),
        }
    }

    fn pool(&self) -> PoolState {
        let pools = self.pools.lock().map(|p| p.clone()).unwrap_or_default();
        if pools.is_empty() {
            // SQLite: one connection per store, each behind its own mutex.
            let n = self.sqlite_stores.load(Ordering::Relaxed);
            return PoolState {
                open: n,
                idle: None,
                max: n,
            };
        }
        pools.iter().fold(
            PoolState {
                open: 0,
                idle: Some(0),
                max: 0,
            },
            |acc, p| {
                let (open, idle) = p.state();
                PoolState {
                    open: acc.open + open,
                    idle: acc.idle.map(|i| i + idle),
                    max: acc.max + p.max_size(),
                }
            },
        )
    }

    fn file_bytes(&self) -> Vec<(&'static str, u64)> {
        let Some(path) = self.sqlite_path() else {
            return Vec::new();
        };
        let mut wal = path.clone().into_os_string();
        wal.push("-wal");
        [("db", path), ("wal", PathBuf::from(wal))]
            .into_iter()
            .filter_map(|(name, p)| std::fs::metadata(p).ok().map(|m| (name, m.len())))
            .collect()
    }
}
