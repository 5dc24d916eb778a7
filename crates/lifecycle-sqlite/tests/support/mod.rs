//! What the SQLite store's tests share: a bank database file in a temporary folder.
#![allow(clippy::unwrap_used, dead_code)]

use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
use std::path::PathBuf;

/// A staging bank database and its master key file, removed with the value.
pub struct Db {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
    pub key_path: PathBuf,
}

impl Db {
    /// Creates the database (as `tokenline bank init` does).
    pub fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bank.db");
        let key_path = dir.path().join("bank.key");
        let key = MasterKey::create(&key_path).unwrap();
        SqliteStore::create(&path, &key, Environment::Staging).unwrap();
        Db {
            _dir: dir,
            path,
            key_path,
        }
    }

    /// A store on a connection of its own (as another thread, process or node has).
    pub fn open(&self) -> SqliteStore {
        SqliteStore::open(&self.path, &MasterKey::load(&self.key_path).unwrap()).unwrap()
    }
}
