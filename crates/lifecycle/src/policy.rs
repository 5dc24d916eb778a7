//! A bank's policy: every rule that differs between the banks of the seed documents
//! (DOMAIN.md §4–5), read from a TOML document. Nothing here reads a file: the caller
//! passes the text.
//!
//! ```toml
//! time_zone = "Asia/Tokyo"          # bank local time (DOMAIN.md §5), default Asia/Tokyo
//! [roles]
//! revoke = "master_and_admin"       # or "master_only" (000 vs 002/003)
//! revoke_expired_online = true      # 000 lists expired tokens for revocation; 003 refuses
//! [cooldown]
//! minutes = 30                      # 000/003/004: register 30 minutes after revocation
//! [cooldown.night]                  # optional night window
//! start = "20:50"                   # inclusive
//! end = "08:10"                     # exclusive; "00:00" = until midnight
//! release = "08:40"
//! next_business_day = false         # 003: release on the next business day
//! [calendar]                      # see crate::calendar
//! weekend = ["Sat", "Sun"]
//! national_holidays = "japan"
//! closed = ["12-31", "01-01..01-03"]
//! holidays = ["2025-05-07"]         # one-off extra closing days
//! [validation]
//! totp_behind = 1
//! totp_ahead = 1
//! max_drift_steps = 10
//! hotp_look_ahead = 10
//! max_failures = 5
//! lockout_minutes = 30              # 0 = locked until a back-office unlock
//! max_replays = 20                  # consecutive replayed codes before a lockout
//! [backoffice]
//! dual_control = false              # a revoke/unlock waits for a second supervisor
//! session_idle_minutes = 15         # operator sessions end after this idle time
//! session_max_minutes = 480         # … and after this long in any case
//! request_valid_minutes = 480       # a dual-control request lapses unapproved after this
//! [web]
//! session_idle_minutes = 10         # a customer's page session ends after this idle time
//! [login]
//! min_password_length = 8           # login passwords (ログインパスワード): at least 8 characters
//! [secrets]
//! argon2_m_kib = 19456
//! argon2_t = 2
//! argon2_p = 1
//! ```

use chrono::NaiveTime;
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};

/// Which user classes may revoke tokens and change the usage mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminRoles {
    /// Master and admin users (`000`: マスターユーザまたは管理者ユーザのみ可能).
    MasterAndAdmin,
    /// Only the master user (`002`, `003`: マスターユーザーの操作).
    MasterOnly,
}

/// Role rules (DOMAIN.md §4).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolePolicy {
    /// Who may revoke.
    #[serde(default = "default_roles")]
    pub revoke: AdminRoles,
    /// Who may change the token usage mode (`001`, `002`: the administrator).
    #[serde(default = "default_roles")]
    pub mode_change: AdminRoles,
    /// Whether a customer may revoke an expired token online (`000` yes, `003` no).
    #[serde(default)]
    pub revoke_expired_online: bool,
}

fn default_roles() -> AdminRoles {
    AdminRoles::MasterAndAdmin
}

impl Default for RolePolicy {
    fn default() -> Self {
        RolePolicy {
            revoke: AdminRoles::MasterAndAdmin,
            mode_change: AdminRoles::MasterAndAdmin,
            revoke_expired_online: false,
        }
    }
}

/// The night window of the cool-down (DOMAIN.md §5, three variants).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NightWindow {
    /// First minute of the window (inclusive), bank local time.
    #[serde(deserialize_with = "hhmm")]
    pub start: NaiveTime,
    /// End of the window (exclusive), bank local time; `00:00` means "until midnight".
    /// A window whose end is not after its start wraps over midnight.
    #[serde(deserialize_with = "hhmm")]
    pub end: NaiveTime,
    /// Registration opens at this local time after a revocation inside the window.
    #[serde(deserialize_with = "hhmm")]
    pub release: NaiveTime,
    /// Release only on a business day (`003`: 翌営業日の8時10分以降).
    #[serde(default)]
    pub next_business_day: bool,
}

impl NightWindow {
    /// Whether a local time of day lies inside the window.
    pub fn contains(&self, t: NaiveTime) -> bool {
        let midnight = NaiveTime::MIN;
        if self.end == midnight {
            t >= self.start
        } else if self.start < self.end {
            t >= self.start && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }
}

/// Cool-down between a revocation and the next registration (DOMAIN.md §5).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CooldownPolicy {
    /// Minutes after the revocation (`000`, `003`, `004`: 30).
    #[serde(default = "default_minutes")]
    pub minutes: u32,
    /// The optional night window.
    #[serde(default)]
    pub night: Option<NightWindow>,
}

fn default_minutes() -> u32 {
    30
}

impl Default for CooldownPolicy {
    fn default() -> Self {
        CooldownPolicy {
            minutes: 30,
            night: None,
        }
    }
}

pub use crate::calendar::Calendar;

/// Code validation at login (DOMAIN.md §8; RFC 4226 §7.3–7.4, RFC 6238 §5.2, §6).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationPolicy {
    /// TOTP steps accepted behind the token's expected step (transmission delay, RFC 6238 §5.2).
    #[serde(default = "one")]
    pub totp_behind: u64,
    /// TOTP steps accepted ahead of the expected step.
    #[serde(default = "one")]
    pub totp_ahead: u64,
    /// The largest clock drift, in steps, remembered for a token (RFC 6238 §6).
    #[serde(default = "ten")]
    pub max_drift_steps: u64,
    /// HOTP look-ahead window (RFC 4226 §7.4).
    #[serde(default = "ten")]
    pub hotp_look_ahead: u64,
    /// Consecutive failures before a lockout (RFC 4226 §7.3 throttling).
    #[serde(default = "five")]
    pub max_failures: u32,
    /// Minutes a lockout lasts; 0 = until a back-office unlock.
    #[serde(default = "thirty")]
    pub lockout_minutes: u32,
    /// Consecutive replayed codes before a lockout: a replay is not a failure (the user
    /// typed a right code twice) but is throttled all the same.
    #[serde(default = "twenty")]
    pub max_replays: u32,
    /// Whether a login check tells an API client that a user has no token yet
    /// (`registration_required`) or needs none (`not_required`).
    ///
    /// Off (the default): such a user is answered exactly like an unknown login — a wrong
    /// code (counted and locked alike), or 400 for no code — so no answer tells a `login`
    /// client that a login exists; the front end offers registration (利用開始登録) and
    /// skipping from its code screen. On: the registration screen comes back at each login
    /// (`000`, `004`), but the front end must ask only after its own first factor (login ID
    /// and password), because the answer then tells that the login exists. The bank CLI is
    /// always told.
    ///
    /// A front end that uses the bank's own first factor ([`crate::Bank::login`]:
    /// customer ID, login ID, login password) needs neither: the login answers the next step
    /// (code, registration with the state, or none) once the password is right, and the bank's
    /// own pages work that way with this setting off.
    #[serde(default)]
    pub registration_state_to_clients: bool,
}

fn twenty() -> u32 {
    20
}

/// Back-office rules (issue #10).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackofficePolicy {
    /// A back-office revocation or unlock is a request that a second, different supervisor
    /// approves.
    #[serde(default)]
    pub dual_control: bool,
    /// An operator session ends after this many minutes without a request.
    #[serde(default = "fifteen")]
    pub session_idle_minutes: u32,
    /// An operator session ends this many minutes after it was opened.
    #[serde(default = "eight_hours")]
    pub session_max_minutes: u32,
    /// Under dual control, a request not approved within this many minutes lapses (file it
    /// again): a request is approved while the reason for it holds.
    #[serde(default = "eight_hours")]
    pub request_valid_minutes: u32,
}

fn fifteen() -> u32 {
    15
}
fn eight_hours() -> u32 {
    480
}

impl Default for BackofficePolicy {
    fn default() -> Self {
        BackofficePolicy {
            dual_control: false,
            session_idle_minutes: 15,
            session_max_minutes: 480,
            request_valid_minutes: 480,
        }
    }
}

fn one() -> u64 {
    1
}
fn ten() -> u64 {
    10
}
fn five() -> u32 {
    5
}
fn thirty() -> u32 {
    30
}

impl Default for ValidationPolicy {
    fn default() -> Self {
        ValidationPolicy {
            totp_behind: 1,
            totp_ahead: 1,
            max_drift_steps: 10,
            hotp_look_ahead: 10,
            max_failures: 5,
            lockout_minutes: 30,
            max_replays: 20,
            registration_state_to_clients: false,
        }
    }
}

/// Argon2id cost of confirmation-secret hashes (new hashes only: a stored hash keeps its own).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretPolicy {
    /// Memory in KiB (OWASP: 19456).
    #[serde(default = "m_default")]
    pub argon2_m_kib: u32,
    /// Iterations.
    #[serde(default = "t_default")]
    pub argon2_t: u32,
    /// Parallelism.
    #[serde(default = "p_default")]
    pub argon2_p: u32,
}

fn m_default() -> u32 {
    19456
}
fn t_default() -> u32 {
    2
}
fn p_default() -> u32 {
    1
}

impl Default for SecretPolicy {
    fn default() -> Self {
        SecretPolicy {
            argon2_m_kib: 19456,
            argon2_t: 2,
            argon2_p: 1,
        }
    }
}

impl SecretPolicy {
    /// The cheapest valid cost, for tests only.
    pub fn cheap_for_tests() -> Self {
        SecretPolicy {
            argon2_m_kib: 8,
            argon2_t: 1,
            argon2_p: 1,
        }
    }
}

/// Who the bank is, for what it sends its customers (letters of the mailing room): the name
/// they know, the address and the contact desk. Every field may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankIdentity {
    /// The bank's name as customers know it (e.g. 埼玉信用組合); empty: the policy's `name`.
    #[serde(default)]
    pub display_name: String,
    /// 郵便番号 of the sender address, e.g. `330-0063`.
    #[serde(default)]
    pub postal_code: String,
    /// The sender address, one line.
    #[serde(default)]
    pub address: String,
    /// The contact desk's name (e.g. インターネットバンキング ヘルプデスク).
    #[serde(default)]
    pub contact: String,
    /// The contact desk's phone number.
    #[serde(default)]
    pub phone: String,
    /// When the desk answers (e.g. 平日 9:00～17:00).
    #[serde(default)]
    pub hours: String,
}

/// A bank's whole policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// A label for the policy (e.g. the seed document it follows).
    #[serde(default)]
    pub name: String,
    /// Bank local time zone (DOMAIN.md §5; default Asia/Tokyo).
    #[serde(default = "tokyo", deserialize_with = "tz")]
    pub time_zone: Tz,
    /// Who may do what.
    #[serde(default)]
    pub roles: RolePolicy,
    /// Cool-down before registration.
    #[serde(default)]
    pub cooldown: CooldownPolicy,
    /// Business days.
    #[serde(default)]
    pub calendar: Calendar,
    /// Login code validation.
    #[serde(default)]
    pub validation: ValidationPolicy,
    /// Confirmation-secret hashing cost.
    #[serde(default)]
    pub secrets: SecretPolicy,
    /// Who the bank is, for letters (`[bank]`).
    #[serde(default)]
    pub bank: BankIdentity,
    /// Back office.
    #[serde(default)]
    pub backoffice: BackofficePolicy,
    /// Customer web pages (`[web]`, issue #11).
    #[serde(default)]
    pub web: WebPolicy,
    /// Login passwords (`[login]`).
    #[serde(default)]
    pub login: LoginPolicy,
}

/// Customer users' login passwords (ログインパスワード, `[login]`, issue #10).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginPolicy {
    /// The fewest characters (Unicode scalar values) a login password may have (default 8;
    /// production floor [`PRODUCTION_MIN_PASSWORD_LENGTH`]).
    pub min_password_length: u32,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            min_password_length: PRODUCTION_MIN_PASSWORD_LENGTH,
        }
    }
}

/// The customer web pages' sessions (`[web]`, issue #11).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebPolicy {
    /// A customer's page session ends after this many minutes without a request (default 10).
    pub session_idle_minutes: u32,
}

impl Default for WebPolicy {
    fn default() -> Self {
        WebPolicy {
            session_idle_minutes: 10,
        }
    }
}

fn tokyo() -> Tz {
    chrono_tz::Asia::Tokyo
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            name: String::new(),
            time_zone: tokyo(),
            roles: RolePolicy::default(),
            cooldown: CooldownPolicy::default(),
            calendar: Calendar::default(),
            validation: ValidationPolicy::default(),
            secrets: SecretPolicy::default(),
            bank: BankIdentity::default(),
            backoffice: BackofficePolicy::default(),
            web: WebPolicy::default(),
            login: LoginPolicy::default(),
        }
    }
}

/// A policy document that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("bank policy is invalid: {0}")]
pub struct PolicyError(String);

impl Policy {
    /// Parses a policy TOML document.
    pub fn from_toml_str(text: &str) -> Result<Self, PolicyError> {
        let p: Policy = toml::from_str(text).map_err(|e| PolicyError(e.to_string()))?;
        if p.validation.max_failures == 0 {
            return Err(PolicyError(
                "validation.max_failures must be at least 1".into(),
            ));
        }
        if p.secrets.argon2_t == 0
            || p.secrets.argon2_p == 0
            || p.secrets.argon2_m_kib < 8 * p.secrets.argon2_p
        {
            return Err(PolicyError(
                "secrets: argon2_t and argon2_p must be ≥ 1 and argon2_m_kib ≥ 8 × argon2_p".into(),
            ));
        }
        if p.validation.max_replays == 0 {
            return Err(PolicyError(
                "validation.max_replays must be at least 1".into(),
            ));
        }
        if p.login.min_password_length == 0 {
            return Err(PolicyError(
                "login.min_password_length must be at least 1".into(),
            ));
        }
        if p.web.session_idle_minutes == 0 {
            return Err(PolicyError(
                "web.session_idle_minutes must be at least 1".into(),
            ));
        }
        if p.backoffice.session_idle_minutes == 0 || p.backoffice.session_max_minutes == 0 {
            return Err(PolicyError(
                "backoffice.session_idle_minutes and session_max_minutes must be at least 1".into(),
            ));
        }
        Ok(p)
    }

    /// The floors a production bank may not go below (issue #10): Argon2id memory
    /// ≥ 19 MiB (`secrets.argon2_m_kib` ≥ 19456, OWASP) and iterations ≥ 2
    /// (`secrets.argon2_t`), at most 10 failures before a lockout
    /// (`validation.max_failures`), at most 100 replays (`validation.max_replays`).
    /// The error names the first setting below its floor.
    pub fn check_production_floor(&self) -> Result<(), PolicyError> {
        let s = &self.secrets;
        let v = &self.validation;
        if s.argon2_m_kib < PRODUCTION_ARGON2_M_KIB {
            return Err(PolicyError(format!(
                "secrets.argon2_m_kib = {} is below the production floor of {PRODUCTION_ARGON2_M_KIB} KiB (19 MiB): raise it",
                s.argon2_m_kib
            )));
        }
        if s.argon2_t < PRODUCTION_ARGON2_T {
            return Err(PolicyError(format!(
                "secrets.argon2_t = {} is below the production floor of {PRODUCTION_ARGON2_T} iterations: raise it",
                s.argon2_t
            )));
        }
        if v.max_failures > PRODUCTION_MAX_FAILURES {
            return Err(PolicyError(format!(
                "validation.max_failures = {} is above the production ceiling of {PRODUCTION_MAX_FAILURES} (unlimited guessing): lower it",
                v.max_failures
            )));
        }
        if self.login.min_password_length < PRODUCTION_MIN_PASSWORD_LENGTH {
            return Err(PolicyError(format!(
                "login.min_password_length = {} is below the production floor of {PRODUCTION_MIN_PASSWORD_LENGTH} characters: raise it",
                self.login.min_password_length
            )));
        }
        if v.max_replays > 100 {
            return Err(PolicyError(format!(
                "validation.max_replays = {} is above the production ceiling of 100: lower it",
                v.max_replays
            )));
        }
        Ok(())
    }
}

/// Production floor of `secrets.argon2_m_kib` (19 MiB).
pub const PRODUCTION_ARGON2_M_KIB: u32 = 19456;
/// Production floor of `secrets.argon2_t`.
pub const PRODUCTION_ARGON2_T: u32 = 2;
/// Production floor (and default) of `login.min_password_length`.
pub const PRODUCTION_MIN_PASSWORD_LENGTH: u32 = 8;
/// Production ceiling of `validation.max_failures`.
pub const PRODUCTION_MAX_FAILURES: u32 = 10;

fn hhmm<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
    let s = String::deserialize(d)?;
    NaiveTime::parse_from_str(&s, "%H:%M").map_err(|_| {
        serde::de::Error::custom(format!(
            "time {s:?} must be HH:MM (24-hour bank local time)"
        ))
    })
}

fn tz<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
    let s = String::deserialize(d)?;
    s.parse::<Tz>().map_err(|_| {
        serde::de::Error::custom(format!(
            "unknown time zone {s:?}: use an IANA name like Asia/Tokyo"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_policy_has_the_documented_defaults() {
        let p = Policy::from_toml_str("").expect("empty policy");
        assert_eq!(p.time_zone, chrono_tz::Asia::Tokyo);
        assert_eq!(p.cooldown.minutes, 30);
        assert!(p.cooldown.night.is_none());
        assert_eq!(p.roles.revoke, AdminRoles::MasterAndAdmin);
    }

    #[test]
    fn weak_production_policy_is_refused_naming_the_setting() {
        let weak =
            "[secrets]\nargon2_m_kib = 8\nargon2_t = 1\n[validation]\nmax_failures = 1000000\n";
        let e = Policy::from_toml_str(weak)
            .expect("parses")
            .check_production_floor()
            .expect_err("below the floor");
        assert!(e.to_string().contains("secrets.argon2_m_kib"), "{e}");
        let t1 = "[secrets]\nargon2_t = 1\n";
        let e = Policy::from_toml_str(t1)
            .expect("parses")
            .check_production_floor()
            .expect_err("t below the floor");
        assert!(e.to_string().contains("secrets.argon2_t"), "{e}");
        let many = "[validation]\nmax_failures = 1000000\n";
        let e = Policy::from_toml_str(many)
            .expect("parses")
            .check_production_floor()
            .expect_err("max_failures above the ceiling");
        assert!(e.to_string().contains("validation.max_failures"), "{e}");
        assert!(Policy::default().check_production_floor().is_ok());
    }

    #[test]
    fn bad_time_is_named() {
        let e = Policy::from_toml_str(
            "[cooldown.night]\nstart=\"8pm\"\nend=\"08:10\"\nrelease=\"08:40\"\n",
        )
        .expect_err("bad time");
        assert!(e.to_string().contains("HH:MM"), "{e}");
    }

    #[test]
    fn night_window_wraps_midnight() {
        let w = NightWindow {
            start: NaiveTime::from_hms_opt(20, 50, 0).expect("t"),
            end: NaiveTime::from_hms_opt(8, 10, 0).expect("t"),
            release: NaiveTime::from_hms_opt(8, 40, 0).expect("t"),
            next_business_day: false,
        };
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("t");
        assert!(w.contains(t(20, 50)));
        assert!(w.contains(t(0, 0)));
        assert!(w.contains(t(8, 9)));
        assert!(!w.contains(t(8, 10)));
        assert!(!w.contains(t(20, 49)));
    }
}
