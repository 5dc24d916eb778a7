//! Routing: one function from (caller, method, path, query, body, now) to a JSON reply, so the
//! whole API can be tested without a socket. [`ROUTES`] lists every route with the scope it
//! needs; the authorization matrix test checks it against `spec/bank-api.openapi.yaml` and
//! against the router.

use chrono::{DateTime, Utc};
use lifecycle::{
    AuditQuery, BackofficeTarget, Bank, Caller, ConfirmationSecret, CustomerId, Error, LoginId,
    LoginOutcome, LoginPassword, NewCustomer, NewUser, NextStep, Proof, SerialNumber, Store,
    UsageMode, UserClass, UserRef,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

/// One route: method, path template (as in the OpenAPI spec), the scope a client needs
/// (`None`: no credential), and whether an operator session is needed on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// Path template, `{name}` for a parameter.
    pub path: &'static str,
    /// The scope a client needs (`None` for the health check): the first of the spec's
    /// `x-scope` list.
    pub scope: Option<&'static str>,
    /// Further scopes that open the route as well (`x-scope: [login, provisioning]`): a key
    /// with any one of [`Route::scopes`] passes the gate.
    pub also: &'static [&'static str],
    /// An operator session is needed too.
    pub operator: bool,
}

impl Route {
    /// Every scope that opens the route, in the spec's `x-scope` order (empty: no
    /// credential needed).
    pub fn scopes(&self) -> impl Iterator<Item = &'static str> {
        self.scope.into_iter().chain(self.also.iter().copied())
    }
}

const fn r(method: &'static str, path: &'static str, scope: &'static str, operator: bool) -> Route {
    Route {
        method,
        path,
        scope: Some(scope),
        also: &[],
        operator,
    }
}

/// The most audit entries one `GET /v1/audit?limit=` asks for.
pub const MAX_AUDIT_LIMIT: usize = 1_000_000;

/// Every route the server answers.
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/v1/health",
        scope: None,
        also: &[],
        operator: false,
    },
    Route {
        method: "GET",
        path: "/v1/ready",
        scope: None,
        also: &[],
        operator: false,
    },
    r("POST", "/v1/customers", "provisioning", false),
    // The bank's customer file, all or nothing (issue #15: `bank customers import` as a route).
    r("POST", "/v1/customer-imports", "provisioning", false),
    r("GET", "/v1/customers", "provisioning", false),
    r("GET", "/v1/customers/{id}", "provisioning", false),
    r(
        "POST",
        "/v1/customers/{id}/users/{login}/remove",
        "provisioning",
        false,
    ),
    r(
        "POST",
        "/v1/customers/{id}/users/{login}/password",
        "provisioning",
        false,
    ),
    r(
        "POST",
        "/v1/customers/{id}/users/{login}/permissions",
        "customer-admin",
        false,
    ),
    r("POST", "/v1/register-for", "customer-admin", false),
    r("GET", "/v1/tokens", "backoffice", true),
    r("POST", "/v1/users", "provisioning", false),
    // Issue #10: `login` lists the acting user's own customer, `provisioning` any customer.
    Route {
        also: &["provisioning"],
        ..r("GET", "/v1/customers/{id}/users", "login", false)
    },
    r("POST", "/v1/tokens/{serial}/issue", "provisioning", false),
    r("POST", "/v1/imports", "import", false),
    r("POST", "/v1/register", "login", false),
    r("POST", "/v1/skip", "login", false),
    r("POST", "/v1/validate", "login", false),
    r("POST", "/v1/revoke", "customer-admin", false),
    r("POST", "/v1/mode", "customer-admin", false),
    r("POST", "/v1/unregister", "customer-admin", false),
    r("POST", "/v1/operator/sessions", "backoffice", false),
    r(
        "DELETE",
        "/v1/operator/sessions/current",
        "backoffice",
        true,
    ),
    r("GET", "/v1/tokens/{serial}", "backoffice", true),
    r("POST", "/v1/backoffice/revoke", "backoffice", true),
    r("POST", "/v1/unlock", "backoffice", true),
    r(
        "POST",
        "/v1/backoffice/requests/{id}/approve",
        "backoffice",
        true,
    ),
    r("GET", "/v1/audit", "audit", false),
    // Issues #10/#11: the login password (ログインパスワード) over the API — the first factor
    // of a customer user's login, set by bank IT or by the customer's master with proof.
    r("POST", "/v1/login", "login", false),
    r(
        "POST",
        "/v1/customers/{id}/users/{login}/login-password",
        "provisioning",
        false,
    ),
    r("POST", "/v1/login-password", "customer-admin", false),
];

/// Whether `path` fits the template `t` (`{name}` matches one segment), segment by segment
/// without allocating (every request is matched against the table).
fn fits(t: &str, path: &str) -> bool {
    let mut t = t.trim_matches('/').split('/');
    let mut segs = path.trim_matches('/').split('/');
    loop {
        match (t.next(), segs.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == b || (a.starts_with('{') && a.ends_with('}')) => {}
            _ => return false,
        }
    }
}

/// The route a request path matches (`{name}` matches one segment).
pub fn route_of(method: &str, path: &str) -> Option<&'static Route> {
    ROUTES
        .iter()
        .find(|r| r.method == method && fits(r.path, path))
}

/// The methods served on `path` (empty for an unknown path): the `Allow` header of a 405.
pub fn methods_of(path: &str) -> Vec<&'static str> {
    ROUTES
        .iter()
        .filter(|r| fits(r.path, path))
        .map(|r| r.method)
        .collect()
}

/// Checks the route's scope (and operator session) before the body is even parsed, so a
/// key without the scope learns nothing from validation errors. The domain checks again.
pub fn gate(caller: &Caller, method: &str, path: &str) -> Result<(), Reply> {
    gate_route(caller, route_of(method, path))
}

/// [`gate`] for a route already looked up (`None`: no route, nothing to check here).
pub fn gate_route(caller: &Caller, route: Option<&Route>) -> Result<(), Reply> {
    let Some(r) = route else {
        return Ok(());
    };
    if r.scope.is_none() {
        return Ok(());
    }
    let mut held = false;
    for s in r.scopes() {
        held |= caller.has_scope(lifecycle::Scope::parse(s).map_err(|e| refusal(&e))?);
    }
    if !held {
        return Err(refusal(&Error::Forbidden {
            needs: format!(
                "an API key with the scope {}",
                r.scopes().collect::<Vec<_>>().join(" or ")
            ),
        }));
    }
    if r.operator && !matches!(caller, Caller::Operator { .. } | Caller::Local(_)) {
        return Err(refusal(&Error::OperatorSessionRequired));
    }
    Ok(())
}

/// A JSON reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

impl Reply {
    pub(crate) fn ok(body: Value) -> Self {
        Reply { status: 200, body }
    }
    fn created(body: Value) -> Self {
        Reply { status: 201, body }
    }
    /// An error reply `{"code", "message"}`.
    pub fn error(status: u16, code: &str, message: impl Into<String>) -> Self {
        Reply {
            status,
            body: json!({ "code": code, "message": message.into() }),
        }
    }
}

/// The HTTP status of a domain refusal.
fn status_of(e: &Error) -> u16 {
    match e.code() {
        "invalid_input" | "invalid_seed_file" | "invalid_customer_file" => 400,
        "unauthenticated" | "operator_session_required" | "customer_session_required" => 401,
        "unknown_request" => 404,
        "token_locked" => 423,
        "import_too_large" => 413,
        "forbidden"
        | "wrong_credentials"
        | "wrong_serial_or_code"
        | "wrong_operator_login"
        | "login_refused" => 403,
        "unknown_customer" | "unknown_user" | "unknown_serial" => 404,
        "not_allowed"
        | "wrong_secret"
        | "wrong_code"
        | "replayed_code"
        | "token_revoked"
        | "token_expired"
        | "token_of_another_customer"
        | "expired_needs_backoffice"
        | "master_cannot_be_unregistered"
        | "master_registers_own_token"
        | "master_cannot_be_removed"
        | "no_secret_set" => 403,
        "locked" => 423,
        "secret_hashing" => 500,
        _ => 409,
    }
}

/// The reply to a domain refusal: `{"code", "message"}` and the fields that help (when a
/// cool-down ends, until when a lockout lasts, attempts left).
pub fn refusal(e: &Error) -> Reply {
    if let Error::Store(detail) = e {
        // A storage failure is the database being away (PostgreSQL restarting, a full disk):
        // 503 so that a load balancer retries elsewhere (issue #16). The detail (host, SQLSTATE)
        // goes to the server's log only, never to the caller.
        tracing::error!("bank-http: storage: {detail}");
        return Reply::error(
            503,
            "database_unavailable",
            "the bank's database is unavailable: nothing was changed; try again in a moment",
        );
    }
    let mut r = Reply::error(status_of(e), e.code(), e.to_string());
    match e {
        Error::CoolDown {
            allowed_from,
            allowed_from_local,
        } => {
            r.body["allowed_from"] = json!(allowed_from);
            r.body["allowed_from_local"] = json!(allowed_from_local);
        }
        Error::Locked { until, .. } => r.body["locked_until"] = json!(until),
        Error::InvalidCustomerFile { line, field, .. } => {
            r.body["line"] = json!(line);
            r.body["field"] = json!(field);
        }
        Error::WrongCode { remaining }
        | Error::WrongSecret { remaining }
        | Error::ReplayedCode { remaining } => r.body["attempts_remaining"] = json!(remaining),
        _ => {}
    }
    r
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Reply> {
    serde_json::from_slice(body)
        .map_err(|e| Reply::error(400, "invalid_input", format!("bad JSON body: {e}")))
}

fn done<T>(r: Result<T, Error>, f: impl FnOnce(T) -> Reply) -> Reply {
    match r {
        Ok(v) => f(v),
        Err(e) => refusal(&e),
    }
}

/// A password field of a body (the spec's `Secret`: it needs a character other than a line
/// end, since trailing line ends are dropped). An empty or line-ends-only password is a
/// malformed request, answered 400 `invalid_input` before any state is read, so a request
/// that cannot be a proof is never answered with what the named login's state is (locked).
struct SecretText(String);

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.chars().all(|c| c == '\r' || c == '\n') {
            return Err(serde::de::Error::custom(
                "a password is empty (or only line ends): give its characters",
            ));
        }
        Ok(SecretText(s))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerBody {
    id: CustomerId,
    name: String,
    mode: UsageMode,
    #[serde(default)]
    secret: Option<SecretText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserBody {
    login: LoginId,
    customer: CustomerId,
    name: String,
    class: UserClass,
    #[serde(default = "yes")]
    needs_otp: bool,
    #[serde(default)]
    secret: Option<SecretText>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    #[serde(flatten)]
    proof: ProofFieldsFlat,
    targets: Vec<LoginId>,
}

/// The acting user's proof, flattened into a body: the actor is the login ID `actor` of
/// `customer` (login IDs are unique per customer only); the users the body names are looked
/// up in that customer.
#[derive(Deserialize)]
struct ProofFieldsFlat {
    customer: CustomerId,
    actor: LoginId,
    secret: SecretText,
    code: String,
}

impl ProofFieldsFlat {
    fn proof(self) -> Proof {
        Proof {
            actor: UserRef::new(self.customer, self.actor),
            secret: ConfirmationSecret::new(self.secret.0),
            code: self.code,
        }
    }
}

#[derive(Deserialize)]
struct ModeBody {
    #[serde(flatten)]
    proof: ProofFieldsFlat,
    mode: UsageMode,
}

#[derive(Deserialize)]
struct UnregisterBody {
    #[serde(flatten)]
    proof: ProofFieldsFlat,
    target: LoginId,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BackofficeBody {
    reason: String,
    #[serde(default)]
    serial: Option<SerialNumber>,
    /// The user's customer (with `user`).
    #[serde(default)]
    customer: Option<CustomerId>,
    #[serde(default)]
    user: Option<LoginId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    customer: CustomerId,
    login: LoginId,
    serial: SerialNumber,
    code: String,
}

#[derive(Deserialize)]
struct RegisterForBody {
    #[serde(flatten)]
    proof: ProofFieldsFlat,
    target: LoginId,
    serial: SerialNumber,
    token_code: String,
}

#[derive(Deserialize)]
struct PermissionBody {
    #[serde(flatten)]
    proof: ProofFieldsFlat,
    token_management: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    secret: SecretText,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmptyBody {}

/// `POST /v1/login`: the first factor (ログイン).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FirstFactorBody {
    customer: CustomerId,
    login: LoginId,
    password: SecretText,
}

/// `POST /v1/customers/{id}/users/{login}/login-password`: bank IT sets a login password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginPasswordBody {
    login_password: SecretText,
}

/// `POST /v1/login-password`: the master sets a user's login password with the master's proof.
#[derive(Deserialize)]
struct MasterLoginPasswordBody {
    #[serde(flatten)]
    proof: ProofFieldsFlat,
    target: LoginId,
    login_password: SecretText,
}

/// `page` from the query (default 1).
fn page_of(q: &[(String, String)]) -> Result<usize, Reply> {
    match query(q, "page") {
        None => Ok(1),
        Some(p) => p
            .parse::<usize>()
            .map_err(|_| Reply::error(400, "invalid_input", "page must be a number from 1")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    customer: CustomerId,
    login: LoginId,
}

impl LoginBody {
    fn user(&self) -> UserRef {
        UserRef::new(self.customer.clone(), self.login.clone())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateBody {
    customer: CustomerId,
    login: LoginId,
    code: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionBody {
    name: lifecycle::OperatorId,
    password: SecretText,
    code: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueBody {
    customer: CustomerId,
    #[serde(default)]
    user: Option<LoginId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnlockBody {
    customer: CustomerId,
    login: LoginId,
}

/// The user named by a path's `{id}` and `{login}` segments.
fn user_at(id: &str, login: &str) -> Result<UserRef, Reply> {
    let bad = |e: lifecycle::IdError| Reply::error(400, "invalid_input", e.to_string());
    Ok(UserRef::new(
        CustomerId::parse(id).map_err(bad)?,
        LoginId::parse(login).map_err(bad)?,
    ))
}

fn query<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
}

/// One request as the routes see it, after the edge has checked its headers.
pub struct Request<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    /// The query's pairs, percent-decoded ([`query_pairs`]).
    pub query: &'a [(String, String)],
    /// The body (JSON, or a file for imports).
    pub body: &'a [u8],
    /// `X-Customer-Session`: the signed-in customer user a `login` client acts for
    /// ([`lifecycle::Bank::customer_session`]).
    pub customer_session: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// A request without body or customer session.
    pub fn bare(method: &'a str, path: &'a str, query: &'a [(String, String)]) -> Self {
        Request {
            method,
            path,
            query,
            body: &[],
            customer_session: None,
        }
    }
}

/// Handles one request from `caller` (`None`: no valid credential: only `/v1/health`).
pub fn handle<S: Store>(
    bank: &Bank<S>,
    caller: Option<&Caller>,
    request: &Request<'_>,
    now: DateTime<Utc>,
) -> Reply {
    match route(bank, caller, request, now) {
        Ok(r) | Err(r) => r,
    }
}

/// The answer of `POST /v1/validate`: `outcome` as JSON, with the customer `session` to send
/// as `X-Customer-Session` when the user is signed in (an accepted code, or no one-time
/// password needed) and the caller is an API client.
pub fn validate_answer<S: Store>(
    bank: &Bank<S>,
    caller: &Caller,
    user: &UserRef,
    outcome: &LoginOutcome,
    now: DateTime<Utc>,
) -> Value {
    let mut body = json!(outcome);
    if matches!(
        outcome,
        LoginOutcome::Accepted { .. } | LoginOutcome::NotRequired
    ) {
        if let Some(s) = bank.open_customer_session(caller, user, now) {
            body["session"] = json!(s);
        }
    }
    body
}

fn route<S: Store>(
    bank: &Bank<S>,
    caller: Option<&Caller>,
    request: &Request<'_>,
    now: DateTime<Utc>,
) -> Result<Reply, Reply> {
    let Request {
        method,
        path,
        query: q,
        body,
        customer_session,
    } = *request;
    let tz = bank.policy().time_zone;
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let id_err = |e: lifecycle::IdError| Reply::error(400, "invalid_input", e.to_string());
    if (method, segs.as_slice()) == ("GET", &["v1", "health"][..]) {
        return Ok(Reply::ok(json!({ "status": "ok", "time": now })));
    }
    if route_of(method, path).is_none() && !methods_of(path).is_empty() {
        return Err(Reply::error(
            405,
            "method_not_allowed",
            format!(
                "{path} does not take {method}: use {} (see the Allow header)",
                methods_of(path).join(", ")
            ),
        ));
    }
    let Some(who) = caller else {
        return Err(refusal(&Error::Unauthenticated));
    };
    Ok(match (method, segs.as_slice()) {
        ("POST", ["v1", "customers"]) => {
            let b: CustomerBody = parse(body)?;
            let c = NewCustomer {
                id: b.id.clone(),
                name: b.name,
                mode: b.mode,
                secret: b.secret.map(|s| ConfirmationSecret::new(s.0)),
            };
            done(bank.add_customer(who, c, now), |_| {
                Reply::created(json!({ "id": b.id }))
            })
        }
        ("POST", ["v1", "customer-imports"]) => done(
            lifecycle::customer_import::import_customer_file(bank, who, body, now, None),
            |d| Reply::created(json!(d)),
        ),
        ("POST", ["v1", "users"]) => {
            let b: UserBody = parse(body)?;
            let u = NewUser {
                login: b.login.clone(),
                customer: b.customer,
                name: b.name,
                class: b.class,
                needs_otp: b.needs_otp,
                secret: b.secret.map(|s| ConfirmationSecret::new(s.0)),
            };
            done(bank.add_user(who, u, now), |_| {
                Reply::created(json!({ "login": b.login }))
            })
        }
        ("GET", ["v1", "customers", id, "users"]) => {
            let id = CustomerId::parse(id).map_err(id_err)?;
            let page = match query(q, "page") {
                None => 1,
                Some(p) => p.parse::<usize>().map_err(|_| {
                    Reply::error(400, "invalid_input", "page must be a number from 1")
                })?,
            };
            if query(q, "actor").is_some() {
                return Err(Reply::error(
                    400,
                    "invalid_input",
                    "actor is not taken: the signed-in user is the one of X-Customer-Session",
                ));
            }
            // A `login` client lists for the signed-in user of its session only (issue #10:
            // it named any actor before); `provisioning` lists any customer.
            let actor = match (who.may_list_any_customer(), customer_session) {
                (true, _) => None,
                (false, s) => Some(
                    bank.customer_session(who, s.unwrap_or(""), now)
                        .map_err(|e| refusal(&e))?,
                ),
            };
            done(
                bank.list_users(who, actor.as_ref(), &id, query(q, "filter"), page, now),
                |p| {
                    let rows: Vec<_> = p.rows.iter().map(|r| r.view(tz)).collect();
                    Reply::ok(
                        json!({ "customer": p.customer, "mode": p.mode, "page": p.page, "pages": p.pages, "total": p.total, "users": rows }),
                    )
                },
            )
        }
        ("GET", ["v1", "customers"]) => done(bank.list_customers(who, page_of(q)?, now), |p| {
            Reply::ok(
                json!({ "page": p.page, "pages": p.pages, "total": p.total, "customers": p.rows }),
            )
        }),
        ("GET", ["v1", "customers", id]) => {
            let id = CustomerId::parse(id).map_err(id_err)?;
            done(bank.show_customer(who, &id, now), |d| {
                let users: Vec<_> = d.users.iter().map(|r| r.view(tz)).collect();
                let mut v = json!(d.customer);
                v["users"] = json!(users);
                v["tokens"] = json!(d.tokens);
                Reply::ok(v)
            })
        }
        ("POST", ["v1", "customers", id, "users", login, "remove"]) => {
            let user = user_at(id, login)?;
            let _: EmptyBody = parse(body)?;
            done(bank.remove_user(who, &user, now), |s| {
                Reply::ok(
                    json!({ "customer": user.customer, "login": user.login, "released_serial": s }),
                )
            })
        }
        ("POST", ["v1", "customers", id, "users", login, "password"]) => {
            let user = user_at(id, login)?;
            let b: PasswordBody = parse(body)?;
            let secret = ConfirmationSecret::new(b.secret.0);
            done(bank.set_user_password(who, &user, &secret, now), |_| {
                Reply::ok(
                    json!({ "customer": user.customer, "login": user.login, "confirmation_password": "set" }),
                )
            })
        }
        ("POST", ["v1", "customers", id, "users", login, "permissions"]) => {
            let user = user_at(id, login)?;
            let b: PermissionBody = parse(body)?;
            let proof = b.proof.proof();
            // The master acts inside their own customer: a target of another customer is
            // unknown to them, whatever its login ID.
            if proof.actor.customer != user.customer {
                return Err(refusal(&Error::UnknownUser(user.login.to_string())));
            }
            done(
                bank.set_token_management(who, &proof, &user.login, b.token_management, now),
                |v| {
                    Reply::ok(
                        json!({ "customer": user.customer, "login": user.login, "token_management": v }),
                    )
                },
            )
        }
        ("POST", ["v1", "register-for"]) => {
            let b: RegisterForBody = parse(body)?;
            let proof = b.proof.proof();
            let actor = proof.actor.login.clone();
            let customer = proof.actor.customer.clone();
            done(
                bank.register_for(who, &proof, &b.target, &b.serial, &b.token_code, now),
                |t| {
                    Reply::ok(
                        json!({ "customer": customer, "login": b.target, "serial": t.serial, "expires_at": t.expires_at(), "registered_by": actor }),
                    )
                },
            )
        }
        ("GET", ["v1", "tokens"]) => {
            let status = match query(q, "status") {
                None => None,
                Some(s) => Some(lifecycle::TokenStatus::parse_kind(s).ok_or_else(|| {
                    Reply::error(
                        400,
                        "invalid_input",
                        "status must be one of stock, issued, active, revoked, staff",
                    )
                })?),
            };
            let customer = query(q, "customer")
                .map(CustomerId::parse)
                .transpose()
                .map_err(id_err)?;
            let filter = lifecycle::TokenFilter { status, customer };
            done(bank.list_tokens(who, &filter, page_of(q)?, now), |p| {
                let rows: Vec<_> = p
                    .rows
                    .iter()
                    .map(|t| {
                        json!({ "serial": t.serial, "status": t.status.kind(), "customer": t.status.customer(), "expiry": t.expiry, "expires_at": t.expires_at(), "batch": t.batch })
                    })
                    .collect();
                Reply::ok(
                    json!({ "page": p.page, "pages": p.pages, "total": p.total, "tokens": rows }),
                )
            })
        }
        ("GET", ["v1", "tokens", serial]) => {
            let s = SerialNumber::parse(serial).map_err(id_err)?;
            done(bank.token(who, &s, now), |t| {
                Reply::ok(
                    json!({ "serial": t.serial, "expiry": t.expiry, "expires_at": t.expires_at(), "batch": t.batch, "status": t.status }),
                )
            })
        }
        ("POST", ["v1", "tokens", serial, "issue"]) => {
            let s = SerialNumber::parse(serial).map_err(id_err)?;
            let b: IssueBody = parse(body)?;
            done(
                bank.issue_token(who, &s, &b.customer, b.user.as_ref(), now),
                |_| Reply::ok(json!({ "serial": s, "customer": b.customer })),
            )
        }
        ("POST", ["v1", "revoke"]) => {
            let b: RevokeBody = parse(body)?;
            done(bank.revoke(who, &b.proof.proof(), &b.targets, now), |r| {
                Reply::ok(json!(r))
            })
        }
        ("POST", ["v1", "backoffice", "revoke"]) => {
            let b: BackofficeBody = parse(body)?;
            let target = match (b.serial, b.customer, b.user) {
                (Some(s), None, None) => BackofficeTarget::Serial(s),
                (None, Some(c), Some(u)) => BackofficeTarget::User(UserRef::new(c, u)),
                _ => {
                    return Err(Reply::error(
                        400,
                        "invalid_input",
                        "give either serial, or customer and user",
                    ))
                }
            };
            done(bank.backoffice_revoke(who, &b.reason, &target, now), |r| {
                Reply::ok(json!(r))
            })
        }
        ("POST", ["v1", "register"]) => {
            let b: RegisterBody = parse(body)?;
            let user = UserRef::new(b.customer.clone(), b.login.clone());
            done(bank.register(who, &user, &b.serial, &b.code, now), |t| {
                Reply::ok(
                    json!({ "customer": b.customer, "login": b.login, "serial": t.serial, "expires_at": t.expires_at() }),
                )
            })
        }
        ("POST", ["v1", "skip"]) => {
            let b: LoginBody = parse(body)?;
            done(bank.skip_registration(who, &b.user(), now), |s| {
                let mut body = json!({ "customer": b.customer, "login": b.login, "asked_again_at_next_login": true });
                if let Some(s) = s {
                    body["state"] = json!(s);
                    body["state_ja"] = json!(s.label_ja());
                }
                Reply::ok(body)
            })
        }
        ("POST", ["v1", "validate"]) => {
            let b: ValidateBody = parse(body)?;
            let user = UserRef::new(b.customer, b.login);
            done(bank.validate(who, &user, &b.code, now), |o| {
                Reply::ok(validate_answer(bank, who, &user, &o, now))
            })
        }
        ("POST", ["v1", "mode"]) => {
            let b: ModeBody = parse(body)?;
            done(bank.change_mode(who, &b.proof.proof(), b.mode, now), |c| {
                Reply::ok(json!({ "mode": b.mode, "cancelled": c }))
            })
        }
        ("POST", ["v1", "unregister"]) => {
            let b: UnregisterBody = parse(body)?;
            done(
                bank.unregister(who, &b.proof.proof(), &b.target, now),
                |s| Reply::ok(json!({ "login": b.target, "serial": s })),
            )
        }
        ("POST", ["v1", "unlock"]) => {
            let b: UnlockBody = parse(body)?;
            let user = UserRef::new(b.customer, b.login);
            done(bank.unlock(who, &user, now), |r| Reply::ok(json!(r)))
        }
        ("POST", ["v1", "operator", "sessions"]) => {
            let b: SessionBody = parse(body)?;
            let pw = ConfirmationSecret::new(b.password.0);
            done(
                bank.open_operator_session(who, &b.name, &pw, &b.code, now),
                |s| {
                    Reply::created(json!({
                        "session": s.token.expose(),
                        "operator": s.operator,
                        "role": s.role,
                        "idle_expires_at": s.idle_expires_at,
                    }))
                },
            )
        }
        ("DELETE", ["v1", "operator", "sessions", "current"]) => {
            // Served by the edge, which holds the session token (`close_session`); a caller
            // reaching here presented none.
            refusal(&Error::OperatorSessionRequired)
        }
        ("POST", ["v1", "backoffice", "requests", id, "approve"]) => {
            let id: i64 = id
                .parse()
                .map_err(|_| Reply::error(400, "invalid_input", "the request id is a number"))?;
            done(bank.approve(who, id, now), |r| Reply::ok(json!(r)))
        }
        ("GET", ["v1", "audit"]) => {
            let limit = match query(q, "limit") {
                None => None,
                Some(l) => Some(
                    l.parse::<usize>()
                        .ok()
                        .filter(|n| *n <= MAX_AUDIT_LIMIT)
                        .ok_or_else(|| {
                            Reply::error(
                                400,
                                "invalid_input",
                                format!("limit must be a number from 0 to {MAX_AUDIT_LIMIT}"),
                            )
                        })?,
                ),
            };
            let instant = |k: &str| {
                query(q, k)
                    .map(|t| {
                        DateTime::parse_from_rfc3339(t)
                            .map(|t| t.with_timezone(&Utc))
                            .map_err(|_| {
                                Reply::error(
                                    400,
                                    "invalid_input",
                                    format!("{k} must be an RFC 3339 instant, e.g. 2025-03-01T00:00:00Z"),
                                )
                            })
                    })
                    .transpose()
            };
            // A serial or login ID, as the spec's `Id` says: anything else (an empty one too)
            // is a mistake of the caller's, not a filter that matches nothing.
            let subject = query(q, "subject");
            if let Some(sub) = subject {
                let id_char = |b: u8| b.is_ascii_alphanumeric() || b"_.@-".contains(&b);
                if sub.is_empty() || sub.len() > 64 || !sub.bytes().all(id_char) {
                    return Err(Reply::error(
                        400,
                        "invalid_input",
                        "subject must be a serial or login ID: 1 to 64 of A-Z a-z 0-9 _ - . @",
                    ));
                }
            }
            let aq = AuditQuery {
                customer: query(q, "customer").map(str::to_owned),
                actor: query(q, "actor").map(str::to_owned),
                action: query(q, "action").map(str::to_owned),
                subject: subject.map(str::to_owned),
                from: instant("from")?,
                until: instant("until")?,
                limit,
            };
            done(bank.audit(who, &aq, now), |v| {
                Reply::ok(json!({ "entries": v }))
            })
        }
        ("POST", ["v1", "login"]) => {
            let b: FirstFactorBody = parse(body)?;
            let password = LoginPassword::new(b.password.0);
            done(
                bank.login(who, &b.customer, &b.login, &password, now),
                |f| {
                    // `{"next": "code" | "registration" (with `state`) | "not_required"}`;
                    // a user without one-time password is signed in: with the session.
                    let mut body = json!(f.next);
                    if f.next == NextStep::NotRequired {
                        let user = UserRef::new(f.customer.clone(), f.login.clone());
                        if let Some(s) = bank.open_customer_session(who, &user, now) {
                            body["session"] = json!(s);
                        }
                    }
                    body["customer"] = json!(f.customer);
                    body["login"] = json!(f.login);
                    body["class"] = json!(f.class);
                    if let NextStep::Registration { state } = f.next {
                        body["state_ja"] = json!(state.label_ja());
                    }
                    Reply::ok(body)
                },
            )
        }
        ("POST", ["v1", "customers", id, "users", login, "login-password"]) => {
            let user = user_at(id, login)?;
            let b: LoginPasswordBody = parse(body)?;
            let password = LoginPassword::new(b.login_password.0);
            done(
                bank.set_login_password(who, &user.customer, &user.login, &password, now),
                |()| {
                    Reply::ok(
                        json!({ "customer": user.customer, "login": user.login, "login_password": "set" }),
                    )
                },
            )
        }
        ("POST", ["v1", "login-password"]) => {
            let b: MasterLoginPasswordBody = parse(body)?;
            let proof = b.proof.proof();
            let customer = proof.actor.customer.clone();
            let actor = proof.actor.login.clone();
            let password = LoginPassword::new(b.login_password.0);
            done(
                bank.set_login_password_as_master(who, &proof, &b.target, &password, now),
                |()| {
                    Reply::ok(
                        json!({ "customer": customer, "login": b.target, "login_password": "set", "set_by": actor }),
                    )
                },
            )
        }
        (_, ["v1", ..]) => Reply::error(
            404,
            "no_such_route",
            format!("no route {method} {path}: see spec/bank-api.openapi.yaml"),
        ),
        _ => Reply::error(
            404,
            "no_such_route",
            format!("no route {method} {path}: the API lives under /v1"),
        ),
    })
}

/// Signs out: ends the operator session `session` that `caller` (the operator it stands
/// for) presented as `X-Operator-Session` (`DELETE /v1/operator/sessions/current`).
pub fn close_session<S: Store>(
    bank: &Bank<S>,
    caller: &Caller,
    session: &str,
    now: DateTime<Utc>,
) -> Reply {
    done(bank.close_operator_session(caller, session, now), |()| {
        Reply::ok(json!({ "result": "closed" }))
    })
}

/// Decodes `%XX` escapes and `+` (query strings); invalid escapes are kept as typed.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// The decoded pairs of a query string `a=1&b=2`.
pub fn query_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_decoded() {
        assert_eq!(
            query_pairs("filter=%E8%8A%B1%E5%AD%90&page=2"),
            vec![
                ("filter".to_string(), "花子".to_string()),
                ("page".to_string(), "2".to_string())
            ]
        );
        assert_eq!(percent_decode("a%2"), "a%2");
    }
}
