//! What the SQLite store's tests share: a bank database file in a temporary folder, and the
//! customer, login and serial they use most.
#![allow(clippy::unwrap_used, dead_code)]

use lifecycle::{CustomerId, LoginId, SerialNumber};
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
use std::path::PathBuf;

/// Customer C001.
pub fn cid() -> CustomerId {
    CustomerId::parse("C001").unwrap()
}

/// Login taro.
pub fn lid() -> LoginId {
    LoginId::parse("taro").unwrap()
}

/// Token 12345678.
pub fn serial() -> SerialNumber {
    SerialNumber::parse("12345678").unwrap()
}

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
