//! `bank init`: create the database and its master key.

use super::common::DbArgs;
use crate::cmd::bank_db::{self, BankStore};
use anyhow::{bail, Context};
use lifecycle::Policy;
use lifecycle_sqlite::Environment;
use std::path::{Path, PathBuf};

/// Create the bank database (never overwrites) and a new master key file with mode 0600.
#[derive(clap::Args, Debug)]
#[command(group = clap::ArgGroup::new("env").required(true).args(["production", "staging"]))]
pub struct Cmd {
    #[command(flatten)]
    db: DbArgs,
    /// Real customers: staging clocks will be refused.
    #[arg(long)]
    production: bool,
    /// A test environment: `--clock` is allowed.
    #[arg(long)]
    staging: bool,
    /// The bank's policy (TOML, e.g. fixtures/policy/bank-000.toml); stored in the database.
    /// Required with --production.
    #[arg(long)]
    policy: Option<PathBuf>,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        if self.db.clock.is_some() {
            bail!("--clock makes no sense for init");
        }
        if self.production && self.policy.is_none() {
            crate::usage!(
                "--production needs --policy FILE: which bank's rules (cool-down, night window, who may revoke)? e.g. --policy fixtures/policy/bank-004.toml"
            );
        }
        let policy_text = match &self.policy {
            Some(p) => Some(
                std::fs::read_to_string(p)
                    .with_context(|| format!("reading the policy {}", p.display()))?,
            ),
            None => None,
        };
        let policy = match &policy_text {
            Some(t) => Policy::from_toml_str(t).with_context(|| {
                format!(
                    "policy {}",
                    self.policy
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                )
            })?,
            None => Policy::default(),
        };
        if self.production {
            policy.check_production_floor().with_context(|| {
                "refused for a production bank (use --staging for a test environment)".to_string()
            })?;
        }
        let key_path = self.db.key_path()?;
        // The folders first: a missing one is named, not reported as a failed temp file.
        let is_url = self.db.db.to_str().is_some_and(|d| d.contains("://"));
        let files = [(!is_url).then_some(&self.db.db), Some(&key_path)];
        for file in files.into_iter().flatten() {
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                if !dir.is_dir() {
                    bail!(
                        "the directory {} (for {}) does not exist: create it first (mkdir -p {}) or give a path in an existing directory",
                        dir.display(),
                        file.display(),
                        dir.display()
                    );
                }
            }
        }
        let env = if self.production {
            Environment::Production
        } else {
            Environment::Staging
        };
        let store = BankStore::create(&self.db.db, &key_path, env)?;
        if let Some(t) = &policy_text {
            store.set_meta("policy", t)?;
        }
        let name = if policy.name.is_empty() {
            "default"
        } else {
            policy.name.as_str()
        };
        // The log's first entry: a bank's log is never empty, so `bank audit verify`
        // reports one emptied by a writer of the database (issue #10 review M6).
        lifecycle::Bank::new(store, policy.clone()).record_init(
            &crate::cmd::common::local_caller(),
            &format!("{} bank, policy {name}", env.as_str()),
            chrono::Utc::now(),
        )?;
        eprintln!(
            "created {} ({}, policy {name}, time zone {}) and master key {} (mode 0600: keep it safe, the seeds cannot be read without it)",
            bank_db::shown(&self.db.db),
            env.as_str(),
            policy.time_zone,
            key_path.display()
        );
        if !is_url && beside(&self.db.db, &key_path) {
            eprintln!("{}", key_beside_db_warning(&key_path));
        }
        Ok(())
    }
}

/// Whether the key file sits in the database file's own directory.
fn beside(db: &Path, key: &Path) -> bool {
    let dir = |p: &Path| {
        let d = p.parent().filter(|d| !d.as_os_str().is_empty());
        std::fs::canonicalize(d.unwrap_or(Path::new(".")))
    };
    matches!((dir(db), dir(key)), (Ok(a), Ok(b)) if a == b)
}

/// The warning `bank init` prints when the master key sits beside the database (issue #10
/// review: the audit key is derived from it, so whoever can write that directory to alter the
/// database can also read the key that vouches for the audit log, and unseal the seeds).
fn key_beside_db_warning(key: &Path) -> String {
    format!(
        "warning: the master key {} is in the database's own directory: whoever can write there (and so alter the database) can also read the key that vouches for the audit log and unseals the seeds. For a real bank, keep it in another directory that only the service's user can read: `tokenline bank init --key-file /etc/tokenline/master.key …`, then give `--key-file` (or TOKENLINE_BANK_KEY) to every command (README: \"Keep the master key away from the database\")",
        key.display()
    )
}
