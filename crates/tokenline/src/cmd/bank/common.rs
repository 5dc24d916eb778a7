//! What every `bank` subcommand shares: the database, the clock, secrets, output.

use crate::cmd::bank_db::{self, BankStore};
use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use lifecycle::{Bank, ConfirmationSecret, LoginPassword, Policy};
use lifecycle_sqlite::{Environment, MasterKey};
use std::io::IsTerminal;
use std::path::PathBuf;

pub use crate::cmd::common::{json_line, say, ClockSpec};

/// The environment variable read for a confirmation password when no flag names a source.
pub const SECRET_ENV: &str = "TOKENLINE_BANK_SECRET";

/// `--db`, `--key-file`, `--clock`, `--json`.
#[derive(clap::Args, Debug, Clone)]
pub struct DbArgs {
    /// The bank database: a SQLite file, or a PostgreSQL URL
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE` shared by several nodes.
    #[arg(long, default_value = "bank.db", env = "TOKENLINE_BANK_DB")]
    pub db: PathBuf,
    /// The master key file [default: the database path + ".key"; required with a URL].
    #[arg(long, env = "TOKENLINE_BANK_KEY")]
    pub key_file: Option<PathBuf>,
    /// Staging clock: `fixed:2025-03-04T08:00:00+09:00` or `offset:-2h30m` (units d h m s)
    /// [default: env TOKENLINE_CLOCK when set]. Refused on a database initialised with
    /// --production; written to the audit log.
    #[arg(long)]
    pub clock: Option<ClockSpec>,
    /// JSON Lines on stdout (human text goes to stderr).
    #[arg(long)]
    pub json: bool,
}

/// An opened bank.
pub struct Opened {
    /// The service.
    pub bank: Bank<BankStore>,
    /// The clock in force.
    pub clock: Option<ClockSpec>,
    /// Who acts: the local OS user (the CLI is the bank's root access).
    pub caller: lifecycle::Caller,
}

impl Opened {
    /// Now, by the clock in force.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.map_or_else(Utc::now, |c| c.now())
    }

    /// An instant as the bank's CLI tables print it: bank time (the policy's `time_zone`)
    /// to the second, with the zone, `2026-11-30 09:00:00 JST` (`--json` keeps RFC 3339 UTC).
    pub fn bank_time(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.bank.policy().time_zone)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    }
}

impl DbArgs {
    /// The master key file.
    pub fn key_path(&self) -> anyhow::Result<PathBuf> {
        bank_db::key_path(&self.db, self.key_file.as_ref())
    }

    /// Opens the store only (no clock check).
    pub fn store(&self) -> anyhow::Result<BankStore> {
        let key = MasterKey::load(&self.key_path()?)?;
        BankStore::open(&self.db, &key)
    }

    /// Opens the bank with its stored policy; refuses a staging clock on production.
    pub fn open(&self) -> anyhow::Result<Opened> {
        let store = self.store()?;
        let clock = crate::cmd::common::clock_in_force(
            self.clock,
            store.environment() == Environment::Production,
            &bank_db::shown(&self.db),
        )?;
        let policy = match store.meta("policy")? {
            Some(text) => {
                Policy::from_toml_str(&text).context("the policy stored in the database")?
            }
            None => Policy::default(),
        };
        let note = clock.map(|c| c.note());
        Ok(Opened {
            bank: Bank::new(store, policy).with_clock_note(note),
            clock,
            caller: crate::cmd::common::local_caller(),
        })
    }
}

/// `--customer C`: the customer of the user a command names by login ID.
#[derive(clap::Args, Debug, Clone)]
pub struct CustomerArg {
    /// The customer (ご契約先) of the user named: login IDs are unique per customer, not
    /// bank-wide. Without it, a login ID that one customer only has names that customer's
    /// user; one that several customers have is refused, naming them.
    #[arg(long)]
    pub customer: Option<lifecycle::CustomerId>,
}

impl CustomerArg {
    /// The user `login` of `--customer`, else of the one customer that has it.
    pub fn user(
        &self,
        o: &Opened,
        login: &lifecycle::LoginId,
    ) -> anyhow::Result<lifecycle::UserRef> {
        Ok(match &self.customer {
            Some(c) => lifecycle::UserRef::new(c.clone(), login.clone()),
            None => o.bank.find_user(&o.caller, login)?,
        })
    }
}

/// Where a confirmation password comes from.
#[derive(clap::Args, Debug, Clone)]
pub struct SecretArgs {
    /// Read the confirmation password from the first line of this file.
    #[arg(long)]
    pub secret_file: Option<PathBuf>,
    /// Read the confirmation password from this environment variable
    /// [default: TOKENLINE_BANK_SECRET, then standard input when it is a pipe].
    #[arg(long)]
    pub secret_env: Option<String>,
}

impl SecretArgs {
    fn explicit(&self) -> anyhow::Result<Option<ConfirmationSecret>> {
        if let Some(f) = &self.secret_file {
            let text = zeroize::Zeroizing::new(
                std::fs::read_to_string(f)
                    .with_context(|| format!("reading the secret file {}", f.display()))?,
            );
            let line = text.lines().next().unwrap_or("");
            return Ok(Some(ConfirmationSecret::new(line)));
        }
        if let Some(var) = &self.secret_env {
            let v = std::env::var(var).with_context(|| {
                format!("environment variable {var} (named by --secret-env) is not set")
            })?;
            return Ok(Some(ConfirmationSecret::new(v)));
        }
        Ok(std::env::var(SECRET_ENV).ok().map(ConfirmationSecret::new))
    }

    /// The password, required: flags, then the environment, then a piped stdin.
    pub fn read(&self) -> anyhow::Result<ConfirmationSecret> {
        if let Some(s) = self.explicit()? {
            return Ok(s);
        }
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            let mut line = zeroize::Zeroizing::new(String::new());
            stdin
                .read_line(&mut line)
                .context("reading the confirmation password from standard input")?;
            let s = ConfirmationSecret::new(line.as_str());
            if !s.is_empty() {
                return Ok(s);
            }
        }
        bail!("a confirmation password is needed: use --secret-file FILE, --secret-env VAR, set {SECRET_ENV}, or pipe it on standard input")
    }
}

/// Where a *new* confirmation password comes from (`customer add`, `user add`,
/// `user set-password`; issue #15). Nothing is read implicitly: `TOKENLINE_BANK_SECRET` is
/// used only when `--secret-env TOKENLINE_BANK_SECRET` names it, so a variable exported for
/// one `add` never silently becomes every later user's password.
#[derive(clap::Args, Debug, Clone)]
pub struct NewSecretArgs {
    /// Set the confirmation password from the first line of this file.
    #[arg(long, conflicts_with_all = ["secret_env", "prompt_secret"])]
    pub secret_file: Option<PathBuf>,
    /// Set the confirmation password from this environment variable (read only when named
    /// here, e.g. `--secret-env TOKENLINE_BANK_SECRET`).
    #[arg(long, conflicts_with = "prompt_secret")]
    pub secret_env: Option<String>,
    /// Ask for the confirmation password on the terminal (typed twice, not echoed).
    #[arg(long)]
    pub prompt_secret: bool,
}

impl NewSecretArgs {
    /// The password the flags name, `None` when no flag names one. An empty password is
    /// refused.
    pub fn read(&self) -> anyhow::Result<Option<ConfirmationSecret>> {
        let text = new_password_from(
            self.secret_file.as_ref(),
            self.secret_env.as_deref(),
            self.prompt_secret,
            "confirmation password",
            "--secret-env",
        )?;
        Ok(text.map(|t| ConfirmationSecret::new(t.as_str())))
    }

    /// Where [`NewSecretArgs::read`] takes the password from, for the command's output
    /// (never the password): `from the file F`, `from the environment variable V`, `typed
    /// at the terminal`.
    pub fn source(&self) -> String {
        if let Some(f) = &self.secret_file {
            format!("from the file {}", f.display())
        } else if let Some(v) = &self.secret_env {
            format!("from the environment variable {v}")
        } else {
            "typed at the terminal".to_owned()
        }
    }

    /// The password, required: the flags, else a prompt when standard input is a terminal.
    pub fn required(&self) -> anyhow::Result<ConfirmationSecret> {
        if let Some(s) = self.read()? {
            return Ok(s);
        }
        if std::io::stdin().is_terminal() {
            return Ok(ConfirmationSecret::new(
                prompt_new("confirmation password")?.as_str(),
            ));
        }
        bail!("a confirmation password is needed: use --secret-file FILE, --secret-env VAR or --prompt-secret (on a terminal)")
    }

    /// A note for the output when no password was set although `TOKENLINE_BANK_SECRET` is
    /// exported: it is no longer picked up by `add`.
    pub fn unused_env_note(&self) -> Option<String> {
        (self.secret_env.is_none() && std::env::var_os(SECRET_ENV).is_some()).then(|| {
            format!("{SECRET_ENV} is exported but not used for new passwords: pass --secret-env {SECRET_ENV} to set it for this one")
        })
    }
}

/// A new password from the first line of `file`, the environment variable `env`, or (with
/// `prompt`) the terminal; `None` when no source is named. An empty one is refused. `what`
/// names it in messages; `env_flag` is the flag that names the variable.
fn new_password_from(
    file: Option<&PathBuf>,
    env: Option<&str>,
    prompt: bool,
    what: &str,
    env_flag: &str,
) -> anyhow::Result<Option<zeroize::Zeroizing<String>>> {
    let text = if let Some(f) = file {
        let all = zeroize::Zeroizing::new(
            std::fs::read_to_string(f)
                .with_context(|| format!("reading the {what} file {}", f.display()))?,
        );
        zeroize::Zeroizing::new(all.lines().next().unwrap_or("").to_owned())
    } else if let Some(var) = env {
        zeroize::Zeroizing::new(std::env::var(var).with_context(|| {
            format!("environment variable {var} (named by {env_flag}) is not set")
        })?)
    } else if prompt {
        prompt_new(what)?
    } else {
        return Ok(None);
    };
    if text.trim_end_matches(['\r', '\n']).is_empty() {
        bail!("the {what} is empty: give a non-empty one");
    }
    Ok(Some(text))
}

/// Asks twice on the terminal, without echo, for a new password (`what` names it).
fn prompt_new(what: &str) -> anyhow::Result<zeroize::Zeroizing<String>> {
    if !std::io::stdin().is_terminal() {
        bail!("prompting for the {what} needs a terminal: use a file or an environment variable in scripts");
    }
    let a = zeroize::Zeroizing::new(
        rpassword::prompt_password(format!("new {what}: "))
            .context("reading the password from the terminal")?,
    );
    let b = zeroize::Zeroizing::new(
        rpassword::prompt_password("again: ").context("reading the password from the terminal")?,
    );
    if a != b {
        bail!("the two passwords differ: nothing was set");
    }
    Ok(a)
}

/// Where a *new* login password (ログインパスワード, issue #11) comes from (`user add`,
/// `user set-login-password`): the same sources as a confirmation password, under their own
/// flags; nothing is read implicitly.
#[derive(clap::Args, Debug, Clone)]
pub struct NewLoginPasswordArgs {
    /// Set the login password from the first line of this file.
    #[arg(long, conflicts_with_all = ["login_password_env", "prompt_login_password"])]
    pub login_password_file: Option<PathBuf>,
    /// Set the login password from this environment variable (read only when named here).
    #[arg(long, conflicts_with = "prompt_login_password")]
    pub login_password_env: Option<String>,
    /// Ask for the login password on the terminal (typed twice, not echoed).
    #[arg(long)]
    pub prompt_login_password: bool,
}

impl NewLoginPasswordArgs {
    /// The login password the flags name, `None` when no flag names one. An empty one is
    /// refused.
    pub fn read(&self) -> anyhow::Result<Option<LoginPassword>> {
        let text = new_password_from(
            self.login_password_file.as_ref(),
            self.login_password_env.as_deref(),
            self.prompt_login_password,
            "login password",
            "--login-password-env",
        )?;
        Ok(text.map(|t| LoginPassword::new(t.as_str())))
    }

    /// The login password, required: the flags, else a prompt when standard input is a
    /// terminal.
    pub fn required(&self) -> anyhow::Result<LoginPassword> {
        if let Some(p) = self.read()? {
            return Ok(p);
        }
        if std::io::stdin().is_terminal() {
            return Ok(LoginPassword::new(prompt_new("login password")?.as_str()));
        }
        bail!("a login password is needed: use --login-password-file FILE, --login-password-env VAR or --prompt-login-password (on a terminal)")
    }
}

/// After a listing printed its whole rows: one line on stderr for each damaged row it left
/// out (the error naming its table, key and column, and what to do), then an error (exit
/// status 1) if there was one, so that a script notices that the list has a hole.
///
/// # Errors
/// When `damaged` holds a row.
pub fn left_out<'a>(
    damaged: impl IntoIterator<Item = &'a lifecycle::StoreError>,
) -> anyhow::Result<()> {
    let mut n = 0;
    for e in damaged {
        eprintln!("left out: {}", lifecycle::audit::escape(&e.to_string()));
        n += 1;
    }
    if n > 0 {
        bail!(
            "{}: the list above is not complete",
            lifecycle::plural::count(n, "damaged row")
        );
    }
    Ok(())
}
