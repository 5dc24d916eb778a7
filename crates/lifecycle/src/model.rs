//! The bank-side model (DOMAIN.md §3): customers, users, tokens and the OTP state the
//! banks' screens show.

use crate::ids::{CustomerId, LoginId, SerialNumber};
use crate::secret::SecretHash;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::Zeroizing;

/// A user's class (利用者区分, DOMAIN.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserClass {
    /// マスターユーザ / MasterID: the customer's top administrator.
    Master,
    /// 管理者ユーザ / 管理ユーザ.
    Admin,
    /// 一般ユーザ / PublicID.
    General,
}

impl UserClass {
    /// The label on the banks' screens (`000`).
    pub fn label_ja(self) -> &'static str {
        match self {
            UserClass::Master => "マスターユーザ",
            UserClass::Admin => "管理者ユーザ",
            UserClass::General => "一般ユーザ",
        }
    }
    /// The stable English name (`master`, `admin`, `general`).
    pub fn as_str(self) -> &'static str {
        match self {
            UserClass::Master => "master",
            UserClass::Admin => "admin",
            UserClass::General => "general",
        }
    }
    /// Parses `master`, `admin` or `general`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "master" => Some(UserClass::Master),
            "admin" => Some(UserClass::Admin),
            "general" => Some(UserClass::General),
            _ => None,
        }
    }
}

/// The customer's token usage mode (ワンタイムパスワードの利用形態, `001`, `002`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageMode {
    /// 全ての利用者が同じトークンを使用する (shown as お客様ID：共通トークン).
    Shared,
    /// 全ての利用者が異なるトークンを使用する; a serial may still be registered to several users.
    Individual,
}

impl UsageMode {
    /// `shared` or `individual`.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageMode::Shared => "shared",
            UsageMode::Individual => "individual",
        }
    }
    /// Parses `shared` or `individual`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "shared" => Some(UsageMode::Shared),
            "individual" => Some(UsageMode::Individual),
            _ => None,
        }
    }
}

/// A user's OTP state exactly as the screens show it (ワンタイムパスワード状態; `000`, `003`, `004`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OtpState {
    /// サービス利用中: a registered, valid token.
    InService,
    /// トークン有効期限切れ: the registered token is past its expiry.
    Expired,
    /// 失効中: token revoked; a new registration is awaited.
    Revoked,
    /// トークン発行済み: a new token was shipped for this user, not yet registered.
    Issued,
    /// 未登録: the user needs an OTP but has no token.
    Unregistered,
    /// `-`: this user does not use an OTP.
    NotRequired,
}

impl OtpState {
    /// The Japanese label of the screens.
    pub fn label_ja(self) -> &'static str {
        match self {
            OtpState::InService => "サービス利用中",
            OtpState::Expired => "トークン有効期限切れ",
            OtpState::Revoked => "失効中",
            OtpState::Issued => "トークン発行済み",
            OtpState::Unregistered => "未登録",
            OtpState::NotRequired => "-",
        }
    }
    /// A short English label.
    pub fn label_en(self) -> &'static str {
        match self {
            OtpState::InService => "in service",
            OtpState::Expired => "expired",
            OtpState::Revoked => "revoked",
            OtpState::Issued => "issued",
            OtpState::Unregistered => "unregistered",
            OtpState::NotRequired => "not required",
        }
    }
}

/// A token's secret seed. Never printed: `Debug` is redacted and the bytes are zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Seed(Zeroizing<Vec<u8>>);

impl Seed {
    /// Wraps seed bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Seed(Zeroizing::new(bytes))
    }
    /// The seed bytes (for the HMAC and for encryption at rest only).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seed(<{} bytes redacted>)", self.0.len())
    }
}

/// A customer (ご契約先).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// Customer ID.
    pub id: CustomerId,
    /// Display name.
    pub name: String,
    /// Token usage mode.
    pub mode: UsageMode,
    /// The customer's confirmation secret (ご契約先確認暗証番号, `001`), if any.
    pub secret: Option<SecretHash>,
}

/// A user of a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Login ID, unique within its customer (the user's key is (customer, login), issue #15).
    pub login: LoginId,
    /// The customer the user belongs to.
    pub customer: CustomerId,
    /// Name (利用者名).
    pub name: String,
    /// Class.
    pub class: UserClass,
    /// Whether the user must log in with an OTP.
    pub needs_otp: bool,
    /// The user's own confirmation secret (確認用パスワード), if any; else the customer's.
    pub secret: Option<SecretHash>,
    /// The user's login password (ログインパスワード, issue #11), the first factor of a login
    /// ([`crate::Bank::login`]); distinct from the confirmation secret. `None`: the user
    /// cannot log in until the bank or the master sets one.
    pub login_password: Option<SecretHash>,
    /// The token registered to the user.
    pub serial: Option<SerialNumber>,
    /// A token shipped for the user and not yet registered (トークン発行済み).
    pub issued: Option<SerialNumber>,
    /// The user's last revocation, which starts the cool-down.
    pub last_revoked_at: Option<DateTime<Utc>>,
    /// Revoked and not registered since (失効中).
    pub awaiting_registration: bool,
    /// Consecutive failed code or secret attempts.
    pub failures: u32,
    /// Locked out until then ([`locked_forever`] = until a back-office unlock).
    pub locked_until: Option<DateTime<Utc>>,
    /// When the user was last locked (too many failures or replays), kept after the lockout
    /// ends: every customer session of the user issued until then is dead for good, so an
    /// unlock does not revive it (issue #10 review). `None`: never locked since the field
    /// exists (schema 6).
    pub last_locked_at: Option<DateTime<Utc>>,
    /// The token-management permission (利用権限 for ワンタイムパスワード認証情報管理, `002`):
    /// granted or withdrawn by the master; the master always holds it
    /// ([`User::has_token_management`]). New admin users start with it, general users without.
    pub token_management: bool,
}

impl User {
    /// A new user with no token.
    pub fn new(
        login: LoginId,
        customer: CustomerId,
        name: String,
        class: UserClass,
        needs_otp: bool,
    ) -> Self {
        User {
            login,
            customer,
            name,
            class,
            needs_otp,
            secret: None,
            login_password: None,
            serial: None,
            issued: None,
            last_revoked_at: None,
            awaiting_registration: false,
            failures: 0,
            locked_until: None,
            last_locked_at: None,
            token_management: class != UserClass::General,
        }
    }

    /// Whether the user holds the token-management permission (the master always does).
    pub fn has_token_management(&self) -> bool {
        self.class == UserClass::Master || self.token_management
    }

    /// The OTP state shown for this user (DOMAIN.md §3). `token` is the registered token.
    ///
    /// A user who needs no OTP shows `-`, "unless the token's revocation is not done yet, in
    /// which case the current state is shown" (`004`): a still-registered token shows its state.
    pub fn otp_state(&self, token: Option<&TokenInfo>, now: DateTime<Utc>) -> OtpState {
        if let (Some(_), Some(t)) = (&self.serial, token) {
            return if t.is_expired(now) {
                OtpState::Expired
            } else {
                OtpState::InService
            };
        }
        if !self.needs_otp {
            return OtpState::NotRequired;
        }
        if self.awaiting_registration {
            OtpState::Revoked
        } else if self.issued.is_some() {
            OtpState::Issued
        } else {
            OtpState::Unregistered
        }
    }
}

/// Where a token is in its life at the bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TokenStatus {
    /// Imported, not yet given to anyone.
    Stock,
    /// Shipped to a customer, not yet registered.
    Issued {
        /// The customer it was shipped to.
        customer: CustomerId,
    },
    /// Registered by at least one user of the customer.
    Active {
        /// The customer it belongs to.
        customer: CustomerId,
    },
    /// Revoked: its codes are refused forever (`004`).
    Revoked {
        /// When.
        at: DateTime<Utc>,
    },
    /// The bank's own stock given to an operator (their second factor for back-office
    /// sessions); never issued to a customer.
    Staff {
        /// The operator.
        operator: crate::ids::OperatorId,
    },
}

impl TokenStatus {
    /// Every status name, as stored and as `bank token list --status` takes it.
    pub const KINDS: [&'static str; 5] = ["stock", "issued", "active", "revoked", "staff"];

    /// The status name: `stock`, `issued`, `active`, `revoked` or `staff`.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenStatus::Stock => "stock",
            TokenStatus::Issued { .. } => "issued",
            TokenStatus::Active { .. } => "active",
            TokenStatus::Revoked { .. } => "revoked",
            TokenStatus::Staff { .. } => "staff",
        }
    }

    /// Parses a status name (one of [`TokenStatus::KINDS`]).
    pub fn parse_kind(s: &str) -> Option<&'static str> {
        Self::KINDS.into_iter().find(|k| *k == s)
    }

    /// The customer the token belongs to, if any.
    pub fn customer(&self) -> Option<&CustomerId> {
        match self {
            TokenStatus::Issued { customer } | TokenStatus::Active { customer } => Some(customer),
            _ => None,
        }
    }
}

/// The moving state of a token's codes: replay protection and drift (DOMAIN.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenCounters {
    /// TOTP: remembered clock drift in steps (token step − server step, RFC 6238 §6).
    pub drift: i64,
    /// TOTP: the last accepted time step; every step ≤ it is refused (replay).
    pub last_step: Option<u64>,
    /// HOTP: the next counter to accept (RFC 4226 §7.4).
    pub next_counter: u64,
    /// Consecutive wrong codes on this token, whoever typed them (a shared token's users
    /// all count here: RFC 4226 §7.3 throttling per token as well as per login).
    #[serde(default)]
    pub failures: u32,
    /// The token's codes are refused until then (too many failures).
    #[serde(default)]
    pub locked_until: Option<DateTime<Utc>>,
}

/// Everything about a token except its seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Serial number.
    pub serial: SerialNumber,
    /// Code parameters.
    pub params: otp_core::Params,
    /// Expiry printed on the back: the UTC day the token stops (DOMAIN.md §3).
    pub expiry: NaiveDate,
    /// The factory batch it came in.
    pub batch: String,
    /// Life-cycle status.
    pub status: TokenStatus,
    /// Replay and drift state.
    pub counters: TokenCounters,
}

impl TokenInfo {
    /// The instant the token stops: midnight UTC of the expiry day (shown as 09:00 in Japan).
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expiry.and_time(chrono::NaiveTime::MIN).and_utc()
    }
    /// Whether the token is past its expiry at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at()
    }
}

/// A token as imported from a seed file.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Serial number.
    pub serial: SerialNumber,
    /// Secret seed.
    pub seed: Seed,
    /// Code parameters.
    pub params: otp_core::Params,
    /// Expiry day.
    pub expiry: NaiveDate,
    /// Factory batch.
    pub batch: String,
    /// TOTP: the starting clock drift in time steps (token step − true step), from the seed
    /// file (PSKC `<TimeDrift>`, RFC 6030 §4.3.4): the first validation window is centred on
    /// the server's step plus this drift (RFC 6238 §6). 0 when unknown; ignored for HOTP.
    pub drift: i64,
}

impl NewToken {
    /// The stored form of a freshly imported token: in stock, counters from its parameters.
    pub fn info(&self) -> TokenInfo {
        let (next_counter, drift) = match self.params.mode {
            otp_core::Mode::Hotp { counter } => (counter, 0),
            otp_core::Mode::Totp { .. } => (0, self.drift),
        };
        TokenInfo {
            serial: self.serial.clone(),
            params: self.params,
            expiry: self.expiry,
            batch: self.batch.clone(),
            status: TokenStatus::Stock,
            counters: TokenCounters {
                drift,
                last_step: None,
                next_counter,
                failures: 0,
                locked_until: None,
            },
        }
    }
}

/// The lockout end that means "until a back-office unlock": 9999-12-31T23:59:59Z.
pub fn locked_forever() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map(|t| t.and_utc())
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A date and time in the screens' format, bank local time: `2021年06月30日 09時00分`.
pub fn screen_datetime(tz: Tz, t: DateTime<Utc>) -> String {
    t.with_timezone(&tz)
        .format("%Y年%m月%d日 %H時%M分")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_midnight_utc_shown_as_0900_in_tokyo() {
        let t = TokenInfo {
            serial: SerialNumber::parse("33456789").expect("serial"),
            params: otp_core::Params::DEFAULT_TOTP,
            expiry: NaiveDate::from_ymd_opt(2021, 6, 30).expect("date"),
            batch: "b".into(),
            status: TokenStatus::Stock,
            counters: TokenCounters::default(),
        };
        assert_eq!(
            screen_datetime(chrono_tz::Asia::Tokyo, t.expires_at()),
            "2021年06月30日 09時00分"
        );
    }

    #[test]
    fn seed_debug_is_redacted() {
        let s = Seed::new(b"12345678901234567890".to_vec());
        let d = format!("{s:?}");
        assert!(!d.contains("1234"), "{d}");
        assert!(d.contains("redacted"));
    }

    #[test]
    fn labels_match_the_screens() {
        assert_eq!(UserClass::General.label_ja(), "一般ユーザ");
        assert_eq!(UserClass::Admin.label_ja(), "管理者ユーザ");
        assert_eq!(OtpState::Revoked.label_ja(), "失効中");
        assert_eq!(OtpState::NotRequired.label_ja(), "-");
    }
}
