//! Every way a use case can refuse, each with a stable code for the HTTP API and the CLI.

use crate::ids::{CustomerId, IdError, LoginId, OperatorId, SerialNumber};
use crate::store::StoreError;
use chrono::{DateTime, Utc};

/// A refused or failed use case. Messages name what was wrong and what to do; none holds a
/// seed, a code or a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Malformed input.
    #[error(transparent)]
    InvalidId(#[from] IdError),
    /// Other malformed input.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A customer file (`customers import`, issue #15) was refused at one line: nothing was
    /// imported. `field` is the column at fault (a header name of the file; `header` for the
    /// header row, `file` for the file as a whole).
    #[error("line {line}, column {field}: {message}: nothing was imported")]
    InvalidCustomerFile {
        /// The file's line number (1 is the header).
        line: usize,
        /// The column at fault.
        field: &'static str,
        /// What is wrong and what to do.
        message: String,
    },
    /// An import over the network (an API client, a page) holds more records than one such
    /// import may write (issue #10: one import is one transaction, and SQLite has one writer:
    /// a larger one would make every login wait for it). Nothing was imported. The CLI on
    /// the bank's server takes any size.
    #[error("the {what} holds {records} {unit}; an import over the network takes at most {max} (a larger one would hold the database for long and make logins wait): split it into files of at most {max} {unit}, each imported all or nothing, or import it on the bank's server with `{cli}`: nothing was imported")]
    ImportTooLarge {
        /// `customer file` or `seed file`.
        what: &'static str,
        /// `users` or `tokens`.
        unit: &'static str,
        /// How many the file holds.
        records: usize,
        /// The most one import over the network takes.
        max: usize,
        /// The console command that takes the whole file.
        cli: &'static str,
    },
    /// No such customer.
    #[error("{}", self.worded(Reader::Cli))]
    UnknownCustomer(String),
    /// A `login` client asked, inside the customer session of a signed-in user, for the users
    /// of another customer than the user's own (issue #10 review L3): one answer whether that
    /// customer exists or not (it named the customer asked for, as unknown, with advice for
    /// the CLI), naming only the session's own customer.
    #[error("a customer session lists the users of the signed-in user's own customer only: ask for GET /v1/customers/{0}/users")]
    NotOwnCustomer(CustomerId),
    /// No such user (or not a user of the actor's customer).
    #[error("unknown user {0} for this customer")]
    UnknownUser(String),
    /// No such token.
    #[error("unknown serial number {0}: check the number on the back of the token")]
    UnknownSerial(SerialNumber),
    /// The customer exists already.
    #[error("customer {0} already exists")]
    DuplicateCustomer(String),
    /// A new customer ID equals an existing one but for letter case (`C0001` beside
    /// `c0001`): two customers staff would take for one (issue #10). IDs are compared
    /// ignoring ASCII case when a customer is created; stored IDs are kept as they are.
    #[error("customer ID {id} differs only in letter case from the existing customer {existing}: staff would take them for one customer; use {existing}, or choose an ID that differs in more than case")]
    CustomerIdCaseClash {
        /// The ID asked for.
        id: CustomerId,
        /// The customer that exists.
        existing: CustomerId,
    },
    /// The login ID is taken within its customer.
    #[error("login id {0} is already taken")]
    DuplicateUser(String),
    /// A new login ID equals one of a user of the same customer but for letter case
    /// (`RMASTER` beside `rmaster`): two users the customer and staff would take for one
    /// (issue #10). Login IDs are compared ignoring ASCII case when a user is created; stored
    /// ones are kept as they are.
    #[error("login ID {login} differs only in letter case from {existing}, a user of customer {customer}: the customer and staff would take them for one user; use {existing}, or choose a login ID that differs in more than case")]
    LoginIdCaseClash {
        /// The customer.
        customer: CustomerId,
        /// The login ID asked for.
        login: LoginId,
        /// The user's login ID that exists.
        existing: LoginId,
    },
    /// A login ID named without its customer exists in several customers (the CLI's
    /// resolution of a bare login ID).
    #[error("login ID {login} exists in {}: give --customer", customers.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(" and "))]
    AmbiguousLogin {
        /// The login ID.
        login: LoginId,
        /// Every customer that has a user with it.
        customers: Vec<CustomerId>,
    },
    /// The customer has a master user already (DOMAIN.md §3: exactly one).
    #[error("customer {0} already has a master user")]
    MasterExists(String),
    /// An import contained a serial that is already known; nothing was imported.
    #[error("serial {0} is already known: nothing was imported")]
    DuplicateSerial(String),
    /// The same file was imported before; nothing was imported.
    #[error("this seed file was already imported (digest {0}): nothing was imported")]
    DuplicateImport(String),
    /// An uploaded seed file could not be opened (format, key, authentication); nothing was
    /// imported. The text says what is wrong with the file, never a seed.
    #[error("{0}: nothing was imported")]
    InvalidSeedFile(String),
    /// The actor's class may not do this under the bank's policy (`000`, `002`, `003`).
    #[error("{login} ({class}) may not {action}: ask the {who}")]
    NotAllowed {
        /// The actor.
        login: LoginId,
        /// The actor's class.
        class: &'static str,
        /// The refused action.
        action: &'static str,
        /// Who may.
        who: &'static str,
    },
    /// Wrong confirmation secret.
    #[error("wrong confirmation password ({} left before lockout)", attempts(.remaining))]
    WrongSecret {
        /// Attempts left.
        remaining: u32,
    },
    /// Wrong one-time code.
    #[error("wrong one-time password ({} left before lockout)", attempts(.remaining))]
    WrongCode {
        /// Attempts left.
        remaining: u32,
    },
    /// A code that was already accepted (DOMAIN.md §8: a code is accepted once).
    /// Used codes are throttled apart from wrong ones (`validation.max_replays`): the count
    /// says so, or it read like the wrong-code attempts left (issue #10 review).
    #[error("this one-time password was already used: wait for the next one (used codes are counted apart from wrong ones: {remaining} more before lockout)")]
    ReplayedCode {
        /// Used codes still answered before the lockout (`validation.max_replays`).
        remaining: u32,
    },
    /// Too many failures.
    #[error("user {login} is locked after too many failed attempts until {until_local}")]
    Locked {
        /// The user.
        login: LoginId,
        /// Until when (UTC).
        until: DateTime<Utc>,
        /// Until when, bank local time (`until a back-office unlock` if permanent).
        until_local: String,
    },
    /// The token was revoked: its codes are refused forever (`004`).
    #[error("token {0} was revoked: its codes are no longer accepted; register the new token")]
    TokenRevoked(SerialNumber),
    /// The token is past its expiry (`003`, `004`).
    #[error("token {0} has expired: register the replacement token")]
    TokenExpired(SerialNumber),
    /// The token belongs to another customer.
    #[error("token {0} is not available to this customer: check the serial number")]
    TokenOfAnotherCustomer(SerialNumber),
    /// The user has no registered token.
    #[error("user {0} has no registered token")]
    NoToken(LoginId),
    /// The user must revoke the current token before registering another.
    #[error("user {login} already uses token {serial}: revoke it first")]
    AlreadyRegistered {
        /// The user.
        login: LoginId,
        /// Their token.
        serial: SerialNumber,
    },
    /// Registration inside the cool-down (DOMAIN.md §5).
    #[error("registration is allowed from {allowed_from_local} (cool-down after the revocation)")]
    CoolDown {
        /// From when (UTC).
        allowed_from: DateTime<Utc>,
        /// From when, bank local time.
        allowed_from_local: String,
    },
    /// An expired token cannot be revoked online (`003`); the branch procedure is needed.
    #[error("token {0} has expired and cannot be revoked online: use the written procedure at the branch (back-office revoke)")]
    ExpiredNeedsBackoffice(SerialNumber),
    /// A serial is registered for the master by the master only (`002`: the admin menu
    /// registers for PublicIDs; the MasterID's token is changed by the master).
    #[error("{}", self.worded(Reader::Cli))]
    MasterRegistersOwnToken,
    /// The master user cannot be removed (a customer has exactly one, DOMAIN.md §3).
    #[error("the master user {0} cannot be removed: a customer keeps exactly one master")]
    MasterCannotBeRemoved(LoginId),
    /// `--skip-known`: the bank holds this serial with another seed (issue #15).
    #[error("serial {0} is already known with a different seed: nothing was imported; two files gave this serial different seeds, ask the factory which batch is right")]
    KnownSerialOtherSeed(SerialNumber),
    /// The master's token can be replaced but not unregistered (`002`).
    #[error(
        "the master user's token cannot be unregistered, only replaced (revoke, then register)"
    )]
    MasterCannotBeUnregistered,
    /// In shared mode every user uses the same token (`001`).
    #[error(
        "customer uses one shared token ({0}): register that serial, or change the usage mode"
    )]
    SharedModeOneToken(SerialNumber),
    /// The mode asked for is the current one.
    #[error("the usage mode is already {0}")]
    ModeUnchanged(&'static str),
    /// The token was already revoked.
    #[error("token {0} is already revoked")]
    AlreadyRevoked(SerialNumber),
    /// The token cannot be issued (not in stock, or issued to another customer).
    #[error("token {0} is not in stock")]
    NotInStock(SerialNumber),
    /// No confirmation secret is set for the actor or the customer.
    #[error("{}", self.worded(Reader::Cli))]
    NoSecretSet(LoginId),
    /// No valid credential: no bearer key, an unknown or revoked one.
    #[error("authentication needed: send `Authorization: Bearer <API key>` with a key from `tokenline bank client add`")]
    Unauthenticated,
    /// The caller is authenticated but may not do this.
    #[error("not allowed for this caller: this needs {needs}")]
    Forbidden {
        /// What would allow it.
        needs: String,
    },
    /// A back-office action without a (live) operator session.
    #[error("an operator session is needed: open one with POST /v1/operator/sessions (name, password, current code) and send it as X-Operator-Session; sessions end after the idle time of the policy")]
    OperatorSessionRequired,
    /// What an API client does for a customer user, asked without a live session of that
    /// user's (`X-Customer-Session`, issue #10): missing, forged, expired, another client's,
    /// another user's, of the first factor only where a signed-in one is needed, or a user
    /// since removed, re-created, given a new login password or locked — one answer for all.
    /// Told to the API client: what it sends, not the bank's settings (issue #10 review).
    #[error("the user's session is needed: sign the user in (POST /v1/login, then POST /v1/validate) and send the `session` from the answer back as the X-Customer-Session header; registering and skipping take the session POST /v1/login answers; a session ends after the bank's idle time, then sign the user in again")]
    CustomerSessionRequired,
    /// The actor's proof failed: unknown actor, wrong confirmation password or wrong code
    /// (one answer for all, so it tells nothing about which part was wrong).
    #[error("the confirmation password or the one-time password is wrong ({} left before lockout)", attempts(.remaining))]
    WrongProof {
        /// Attempts left.
        remaining: u32,
    },
    /// Registration refused: the serial or the code is wrong (one answer for an unknown
    /// serial, another customer's token and a wrong code).
    #[error("the serial number or the one-time password is wrong: check the number on the back of the token and type the code shown now ({} left before lockout)", attempts(.remaining))]
    WrongSerialOrCode {
        /// Attempts left.
        remaining: u32,
    },
    /// The first factor of a customer user's login was refused (ログイン, issue #11): an
    /// unknown customer, an unknown login, another customer's login, a login without a login
    /// password, a wrong password or a locked login — one answer for all (no oracle: nothing
    /// here tells whether the login exists); the audit log keeps the true reason.
    #[error("login refused: the customer ID, the login ID or the login password is wrong, or the login is locked after too many failed attempts (then ask the bank to unlock it)")]
    LoginRefused,
    /// Operator sign-in refused (unknown name, wrong password or wrong code: one answer).
    #[error("operator sign-in refused: the name, the password or the one-time password is wrong")]
    WrongOperatorLogin,
    /// Unlock asked for a user who is not locked.
    #[error("user {0} is not locked: nothing to unlock")]
    NotLocked(LoginId),
    /// A token lockout (too many wrong codes on this token, whoever typed them).
    #[error("token {serial} is locked after too many wrong codes until {until_local}")]
    TokenLocked {
        /// The token.
        serial: SerialNumber,
        /// Until when, bank local time.
        until_local: String,
    },
    /// No such dual-control request (or it was approved already).
    #[error("no pending back-office request {0}")]
    UnknownRequest(i64),
    /// Dual control: the same revocation or unlock is already waiting for approval.
    #[error("back-office request {0} already asks for this and waits for a second supervisor: approve or wait for it")]
    RequestPending(i64),
    /// Skipping registration for a user who is not at registration (they use a token, or
    /// need no one-time password): there is nothing to skip, and a skip would sign them in
    /// without their code (issue #10 review).
    #[error("user {0} has no registration to skip: they sign in with the one-time password of their token (or need none)")]
    NotAtRegistration(LoginId),
    /// The back office was asked to revoke a bank operator's own token (issue #10): that is
    /// removing the operator, which bank IT does on the CLI (sessions end, requests lapse).
    #[error("token {0} is a bank operator's own token: the back office does not revoke it; bank IT removes the operator with `tokenline bank operator remove NAME` (see `tokenline bank operator list`)")]
    StaffToken(SerialNumber),
    /// Dual control: the request lapsed and can no longer be approved (issue #10).
    #[error("back-office request {id} has lapsed: {why}; if it is still needed, file it again")]
    RequestLapsed {
        /// The request.
        id: i64,
        /// Why: its requester was removed, or it waited too long.
        why: String,
    },
    /// Dual control: the request was withdrawn by its requester or rejected by another
    /// supervisor (issue #10 review L1): it can never be approved.
    #[error("back-office request {id} {how}: it can no longer be approved; if the action is still needed, file a new request")]
    RequestEnded {
        /// The request.
        id: i64,
        /// What happened: `was withdrawn by its requester sato at …` or `was rejected by
        /// suzuki at …: reason`.
        how: String,
    },
    /// Dual control: only the requester withdraws a request (issue #10 review L1).
    #[error("back-office request {id} was filed by {requested_by}: only its requester withdraws it; a supervisor other than the requester may reject it, with a reason")]
    NotRequester {
        /// The request.
        id: i64,
        /// Who filed it.
        requested_by: OperatorId,
    },
    /// Dual control: a requester does not reject their own request (issue #10 review L1).
    #[error("back-office request {0} is your own: a requester does not reject their own request; withdraw it instead")]
    RejectsOwnRequest(i64),
    /// Dual control: the approver must be another supervisor than the requester.
    #[error("a back-office request must be approved by a second, different supervisor (requested by {0})")]
    SameOperator(OperatorId),
    /// The operator name is taken, by a current operator or a removed one (a name is never
    /// reused, so every audit entry under it stays one person's).
    #[error("operator {0} already exists or existed and was removed: an operator's name is never reused, so choose another name (see `tokenline bank operator list`)")]
    DuplicateOperator(OperatorId),
    /// No such operator.
    #[error("no operator {0}: see `tokenline bank operator list`")]
    UnknownOperator(OperatorId),
    /// Unlock asked for an operator who is not locked.
    #[error("operator {0} is not locked: nothing to unlock")]
    OperatorNotLocked(OperatorId),
    /// The operator was removed (`bank operator remove`): they sign in no more, for good.
    #[error("operator {0} was removed: a removed operator is not unlocked or removed again; enrol the person under a new name with `tokenline bank operator add`")]
    OperatorRemoved(OperatorId),
    /// The client name is taken.
    #[error("API client {0} already exists")]
    DuplicateClient(String),
    /// No such API client.
    #[error("no API client {0}: see `tokenline bank client list`")]
    UnknownClient(String),
    /// The API client's key was revoked already: nothing to revoke.
    #[error("API client {0} was revoked already: its key authenticates nothing; nothing was done (a new key: `tokenline bank client add` under a new name)")]
    ClientRevoked(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed.
    #[error("{0}")]
    Secret(String),
}

/// `1 attempt`, `2 attempts`, `0 attempts`: the count of attempts left, in the plural that
/// fits it (issue #10 review: "1 attempts left").
pub fn attempts(remaining: &u32) -> String {
    crate::plural::count(*remaining as usize, "attempt")
}

/// Who reads an error's message, for the few errors whose remedy is done differently on each
/// channel (issue #10 review L3: an API client was told to run `bank customer add`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// The bank's CLI on the database file (and the audit log): `Display`.
    Cli,
    /// An API client: the remedy names the route to call.
    Api,
}

impl Reader {
    fn pick<'a>(self, cli: &'a str, api: &'a str) -> &'a str {
        match self {
            Reader::Cli => cli,
            Reader::Api => api,
        }
    }
}

impl Error {
    /// The message for `reader`: `Display` (the CLI's wording) but for the remedy of the
    /// errors a CLI user and an API client mend differently (one catalogue: each such message
    /// is written once, with its two remedies side by side).
    pub fn worded(&self, reader: Reader) -> String {
        match self {
            Error::UnknownCustomer(c) => format!(
                "unknown customer {c}: add it first {}",
                reader.pick(
                    "with `bank customer add`",
                    "(POST /v1/customers, scope provisioning), or check the customer ID"
                )
            ),
            Error::NoSecretSet(login) => format!(
                "no confirmation password is set for {login} nor for the customer: {}",
                match reader {
                    Reader::Cli =>
                        format!("set one with `tokenline bank user set-password CUSTOMER {login}`"),
                    Reader::Api => format!(
                        "the bank sets one (POST /v1/customers/{{id}}/users/{login}/password, scope provisioning)"
                    ),
                }
            ),
            Error::MasterRegistersOwnToken => format!(
                "the master user's token is registered by the master alone: log in as the master and register it ({})",
                reader.pick(
                    "`bank register MASTER SERIAL --code C`",
                    "POST /v1/login, then POST /v1/register in the master's session"
                )
            ),
            other => other.to_string(),
        }
    }

    /// The stable machine-readable code (HTTP `code` field, audit `outcome`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidId(_) | Error::InvalidInput(_) => "invalid_input",
            Error::InvalidCustomerFile { .. } => "invalid_customer_file",
            Error::ImportTooLarge { .. } => "import_too_large",
            Error::UnknownCustomer(_) => "unknown_customer",
            Error::NotOwnCustomer(_) => "not_own_customer",
            Error::UnknownUser(_) => "unknown_user",
            Error::UnknownSerial(_) => "unknown_serial",
            Error::DuplicateCustomer(_) | Error::CustomerIdCaseClash { .. } => "duplicate_customer",
            Error::DuplicateUser(_) | Error::LoginIdCaseClash { .. } => "duplicate_user",
            Error::AmbiguousLogin { .. } => "ambiguous_login",
            Error::MasterExists(_) => "master_exists",
            Error::DuplicateSerial(_) => "duplicate_serial",
            Error::DuplicateImport(_) => "duplicate_import",
            Error::InvalidSeedFile(_) => "invalid_seed_file",
            Error::KnownSerialOtherSeed(_) => "known_serial_other_seed",
            Error::NotAllowed { .. } => "not_allowed",
            Error::WrongSecret { .. } => "wrong_secret",
            Error::WrongCode { .. } => "wrong_code",
            Error::ReplayedCode { .. } => "replayed_code",
            Error::Locked { .. } => "locked",
            Error::TokenRevoked(_) => "token_revoked",
            Error::TokenExpired(_) => "token_expired",
            Error::TokenOfAnotherCustomer(_) => "token_of_another_customer",
            Error::NoToken(_) => "no_token",
            Error::AlreadyRegistered { .. } => "already_registered",
            Error::CoolDown { .. } => "cool_down",
            Error::ExpiredNeedsBackoffice(_) => "expired_needs_backoffice",
            Error::MasterCannotBeUnregistered => "master_cannot_be_unregistered",
            Error::MasterRegistersOwnToken => "master_registers_own_token",
            Error::MasterCannotBeRemoved(_) => "master_cannot_be_removed",
            Error::SharedModeOneToken(_) => "shared_mode_one_token",
            Error::ModeUnchanged(_) => "mode_unchanged",
            Error::AlreadyRevoked(_) => "already_revoked",
            Error::NotInStock(_) => "not_in_stock",
            Error::NoSecretSet(_) => "no_secret_set",
            Error::Unauthenticated => "unauthenticated",
            Error::Forbidden { .. } => "forbidden",
            Error::OperatorSessionRequired => "operator_session_required",
            Error::CustomerSessionRequired => "customer_session_required",
            Error::WrongProof { .. } => "wrong_credentials",
            Error::WrongSerialOrCode { .. } => "wrong_serial_or_code",
            Error::WrongOperatorLogin => "wrong_operator_login",
            Error::LoginRefused => "login_refused",
            Error::NotLocked(_) => "not_locked",
            Error::TokenLocked { .. } => "token_locked",
            Error::UnknownRequest(_) => "unknown_request",
            Error::SameOperator(_) => "same_operator",
            Error::RejectsOwnRequest(_) => "own_request",
            Error::RequestEnded { .. } => "request_ended",
            Error::NotRequester { .. } => "not_requester",
            Error::RequestLapsed { .. } => "request_lapsed",
            Error::StaffToken(_) => "staff_token",
            Error::NotAtRegistration(_) => "not_at_registration",
            Error::RequestPending(_) => "request_pending",
            Error::DuplicateOperator(_) => "duplicate_operator",
            Error::UnknownOperator(_) => "unknown_operator",
            Error::OperatorNotLocked(_) => "operator_not_locked",
            Error::OperatorRemoved(_) => "operator_removed",
            Error::DuplicateClient(_) => "duplicate_client",
            Error::UnknownClient(_) => "unknown_client",
            Error::ClientRevoked(_) => "client_revoked",
            Error::Store(_) => "storage",
            Error::Secret(_) => "secret_hashing",
        }
    }

    /// Whether the caller did something wrong (as opposed to the service failing).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, Error::Store(_) | Error::Secret(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #10 review: "1 attempts left" — the count of attempts left takes the plural
    /// that fits it, in every message that shows it.
    #[test]
    fn the_attempts_left_are_counted_in_the_plural_that_fits() {
        let all = |n: u32| {
            [
                Error::WrongSecret { remaining: n },
                Error::WrongCode { remaining: n },
                Error::WrongProof { remaining: n },
                Error::WrongSerialOrCode { remaining: n },
            ]
        };
        for e in all(1) {
            let text = e.to_string();
            assert!(text.contains("(1 attempt left before lockout)"), "{text}");
        }
        for n in [0, 2, 9] {
            for e in all(n) {
                let text = e.to_string();
                assert!(
                    text.contains(&format!("({n} attempts left before lockout)")),
                    "{text}"
                );
            }
        }
    }

    /// Issue #10 review: "already used … (19 attempts left before lockout)" read like the
    /// wrong codes left; used codes have their own count (`validation.max_replays`).
    #[test]
    fn a_replayed_code_counts_used_codes_apart_from_wrong_ones() {
        let text = Error::ReplayedCode { remaining: 19 }.to_string();
        assert_eq!(
            text,
            "this one-time password was already used: wait for the next one (used codes are \
             counted apart from wrong ones: 19 more before lockout)"
        );
    }

    /// Issue #10 review L3: an API client was told to run `bank customer add`. The errors an
    /// API client gets name a route it can call; the CLI keeps its command.
    #[test]
    #[allow(clippy::unwrap_used)]
    fn an_api_client_is_told_a_remedy_it_can_carry_out_not_a_cli_command() {
        let login = LoginId::parse("jiro").unwrap();
        let cases = [
            (
                Error::UnknownCustomer("C9".into()),
                "`bank customer add`",
                "POST /v1/customers",
            ),
            (
                Error::NoSecretSet(login),
                "`tokenline bank user set-password CUSTOMER jiro`",
                "POST /v1/customers/{id}/users/jiro/password",
            ),
            (
                Error::MasterRegistersOwnToken,
                "`bank register MASTER SERIAL --code C`",
                "POST /v1/register in the master's session",
            ),
        ];
        for (e, cli, api) in cases {
            assert_eq!(e.to_string(), e.worded(Reader::Cli));
            assert!(e.to_string().contains(cli), "{e}");
            let text = e.worded(Reader::Api);
            assert!(
                text.contains(api) && !text.contains('`') && !text.contains("tokenline"),
                "{text}"
            );
        }
        // Every other error reads the same on both.
        let other = Error::RequestPending(3);
        assert_eq!(other.worded(Reader::Api), other.to_string());
    }

    /// Issue #10 review: a `login` client asking for what needs a signed-in user is told
    /// what it can do itself (sign the user in, send the session back), not the bank's
    /// setting names.
    #[test]
    fn the_customer_session_refusal_tells_the_api_client_what_to_send() {
        let text = Error::CustomerSessionRequired.to_string();
        assert!(
            text.contains("sign the user in (POST /v1/login, then POST /v1/validate)")
                && text.contains(
                    "send the `session` from the answer back as the X-Customer-Session header"
                )
                && !text.contains("web.session_idle_minutes"),
            "{text}"
        );
    }
}
