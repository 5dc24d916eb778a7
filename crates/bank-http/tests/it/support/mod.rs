//! A bank for the HTTP tests: a real SQLite file, a settable clock, customers with users and
//! TOTP tokens, API keys of every scope, an operator; a loopback server over it; and a
//! minimal HTTP/1.1 client over a real socket.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, NaiveDate, Utc};
use lifecycle::policy::SecretPolicy;
use lifecycle::*;
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The confirmation password every user of these banks has.
pub const SECRET: &str = "kakunin-pass";
/// The operator's password.
pub const OP_PASSWORD: &str = "operator-pass-1";

/// The seed of the token with serial `serial` (20 bytes, SHA-1 TOTP).
pub fn seed_of(serial: &str) -> Vec<u8> {
    serial.bytes().cycle().take(20).collect()
}

/// The code `serial` shows at `t`.
pub fn code(serial: &str, t: DateTime<Utc>) -> String {
    format!(
        "{:06}",
        otp_core::code(
            &otp_core::Params::DEFAULT_TOTP,
            &seed_of(serial),
            t.timestamp() as u64
        )
        .unwrap()
    )
}

/// The login password [`TestBank::first_factor`] gives.
pub const LOGIN_PASSWORD: &str = "login-pass-1234";

/// A bank database and what the tests need to reach it.
pub struct TestBank {
    _dir: tempfile::TempDir,
    pub db: PathBuf,
    pub key_path: PathBuf,
    pub policy: Policy,
    now: Arc<Mutex<DateTime<Utc>>>,
    /// API keys by scope name (`login`, …).
    pub keys: Vec<(Scope, String)>,
}

pub fn lid(s: &str) -> LoginId {
    LoginId::parse(s).unwrap()
}

pub fn root() -> Caller {
    Caller::Local("root".into())
}

impl TestBank {
    /// An empty bank (cheap Argon2, `policy` adjusted by `tune`), a key of each scope.
    pub fn new(tune: impl FnOnce(&mut Policy)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("bank.db");
        let key_path = dir.path().join("bank.key");
        let key = MasterKey::create(&key_path).unwrap();
        let mut policy = Policy {
            secrets: SecretPolicy::cheap_for_tests(),
            ..Policy::default()
        };
        tune(&mut policy);
        let now = Utc::now();
        let bank = Bank::new(
            SqliteStore::create(&db, &key, Environment::Staging).unwrap(),
            policy.clone(),
        );
        let mut keys = Vec::new();
        for s in Scope::ALL {
            let name = ClientName::parse(&format!("c-{}", s.as_str())).unwrap();
            let (k, _) = bank.add_client(&root(), &name, &[s], now).unwrap();
            keys.push((s, k.expose().to_owned()));
        }
        TestBank {
            _dir: dir,
            db,
            key_path,
            policy,
            now: Arc::new(Mutex::new(now)),
            keys,
        }
    }

    /// The time of the bank's clock.
    pub fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap()
    }

    /// Moves the bank's clock on (a TOTP step is 30 s: each proof needs a fresh code).
    pub fn advance(&self, d: Duration) -> DateTime<Utc> {
        let mut n = self.now.lock().unwrap();
        *n += d;
        *n
    }

    /// The key of `scope`.
    pub fn key(&self, scope: Scope) -> &str {
        &self.keys.iter().find(|(s, _)| *s == scope).unwrap().1
    }

    /// A domain service on the same database (the CLI's view).
    pub fn bank(&self) -> Bank<SqliteStore> {
        let key = MasterKey::load(&self.key_path).unwrap();
        Bank::new(
            SqliteStore::open(&self.db, &key).unwrap(),
            self.policy.clone(),
        )
    }

    /// Imports TOTP tokens in stock.
    pub fn tokens(&self, serials: &[&str]) {
        let toks: Vec<NewToken> = serials
            .iter()
            .map(|s| NewToken {
                serial: SerialNumber::parse(s).unwrap(),
                seed: Seed::new(seed_of(s)),
                params: otp_core::Params::DEFAULT_TOTP,
                expiry: NaiveDate::from_ymd_opt(2040, 1, 31).unwrap(),
                batch: "B".into(),
                drift: 0,
            })
            .collect();
        let digest = format!("sha256:{}", serials.join("-"));
        self.bank()
            .import_tokens(&root(), &digest, "t", &toks, self.now())
            .unwrap();
    }

    /// A customer (individual mode, confirmation password [`SECRET`]).
    pub fn customer(&self, id: &str) {
        self.bank()
            .add_customer(
                &root(),
                NewCustomer {
                    id: CustomerId::parse(id).unwrap(),
                    name: id.into(),
                    mode: UsageMode::Individual,
                    secret: Some(ConfirmationSecret::new(SECRET)),
                },
                self.now(),
            )
            .unwrap();
    }

    /// A user of `customer`, with `serial` registered when given (at the bank's time).
    pub fn user(&self, login: &str, customer: &str, class: UserClass, serial: Option<&str>) {
        let b = self.bank();
        b.add_user(
            &root(),
            NewUser {
                login: lid(login),
                customer: CustomerId::parse(customer).unwrap(),
                name: login.into(),
                class,
                needs_otp: true,
                secret: None,
            },
            self.now(),
        )
        .unwrap();
        if let Some(s) = serial {
            let t = self.advance(Duration::seconds(30));
            b.register(
                &root(),
                &lifecycle::UserRef::new(CustomerId::parse(customer).unwrap(), lid(login)),
                &SerialNumber::parse(s).unwrap(),
                &code(s, t),
                t,
            )
            .unwrap();
        }
    }

    /// A user of `customer` who needs no one-time password (`needs_otp = false`).
    pub fn user_without_otp(&self, login: &str, customer: &str) {
        self.bank()
            .add_user(
                &root(),
                NewUser {
                    login: lid(login),
                    customer: CustomerId::parse(customer).unwrap(),
                    name: login.into(),
                    class: UserClass::General,
                    needs_otp: false,
                    secret: None,
                },
                self.now(),
            )
            .unwrap();
    }

    /// The audit entries of `action` (about `subject`, when given), oldest first.
    pub fn audit(&self, action: &str, subject: Option<&str>) -> Vec<AuditEntry> {
        self.bank()
            .audit(
                &root(),
                &AuditQuery {
                    action: Some(action.into()),
                    subject: subject.map(str::to_owned),
                    ..AuditQuery::default()
                },
                self.now(),
            )
            .unwrap()
    }

    /// Adds operator `name` (a supervisor) with token `serial` from stock.
    pub fn operator(&self, name: &str, serial: &str) {
        let t = self.advance(Duration::seconds(30));
        self.bank()
            .add_operator(
                &root(),
                NewOperator {
                    name: OperatorId::parse(name).unwrap(),
                    role: Role::Supervisor,
                    password: ConfirmationSecret::new(OP_PASSWORD),
                    serial: SerialNumber::parse(serial).unwrap(),
                    code: code(serial, t),
                },
                t,
            )
            .unwrap();
    }

    /// A second client with the `backoffice` scope (`bo-2`): its key.
    pub fn other_backoffice_key(&self) -> String {
        self.other_key("bo-2", Scope::Backoffice)
    }

    /// Another client `name` with `scope`: its key.
    pub fn other_key(&self, name: &str, scope: Scope) -> String {
        let (k, _) = self
            .bank()
            .add_client(
                &root(),
                &ClientName::parse(name).unwrap(),
                &[scope],
                self.now(),
            )
            .unwrap();
        k.expose().to_owned()
    }

    /// Opens a session of operator `suzuki` (token 10000001) through the client `key` of
    /// the server at `addr`; returns the session token.
    pub fn open_session(&self, addr: SocketAddr, key: &str) -> String {
        let t = self.advance(Duration::seconds(30));
        let (st, v) = json(
            addr,
            "POST",
            "/v1/operator/sessions",
            key,
            &[],
            &serde_json::json!({"name": "suzuki", "password": OP_PASSWORD, "code": code("10000001", t)}),
        );
        assert_eq!(st, 201, "{v}");
        v["session"].as_str().unwrap().to_owned()
    }

    /// Signs `login` of `customer` in with both factors through the `login` client `key`: a
    /// login password (given here), `POST /v1/login` (`next: code`), then a fresh code of its
    /// token `serial` to `POST /v1/validate` inside the first-factor session: the signed-in
    /// customer session of the answer.
    pub fn sign_in(
        &self,
        addr: SocketAddr,
        key: &str,
        customer: &str,
        login: &str,
        serial: &str,
    ) -> String {
        let first = self.first_factor_for_code(addr, key, customer, login);
        let t = self.advance(Duration::seconds(30));
        let (st, v) = json(
            addr,
            "POST",
            "/v1/validate",
            key,
            &[("X-Customer-Session", &first)],
            &serde_json::json!({"customer": customer, "login": login, "code": code(serial, t)}),
        );
        assert_eq!((st, v["result"].as_str()), (200, Some("accepted")), "{v}");
        v["session"].as_str().unwrap().to_owned()
    }

    /// Gives `login` of `customer` (who has no token yet) a login password and signs it in
    /// with it (`POST /v1/login` through the `login` client `key`): the first-factor customer
    /// session of the answer (`next: registration`), which registering and skipping take.
    pub fn first_factor(&self, addr: SocketAddr, key: &str, customer: &str, login: &str) -> String {
        self.login_password_session(addr, key, customer, login, "registration")
    }

    /// Gives `login` of `customer` (who has a token) a login password and signs in with it
    /// (`POST /v1/login`): the first-factor session with which the code is validated.
    pub fn first_factor_for_code(
        &self,
        addr: SocketAddr,
        key: &str,
        customer: &str,
        login: &str,
    ) -> String {
        self.login_password_session(addr, key, customer, login, "code")
    }

    /// Gives `login` of `customer` a login password and signs in with it (`POST /v1/login`),
    /// whose answer must say `next`: the first-factor session of the answer.
    fn login_password_session(
        &self,
        addr: SocketAddr,
        key: &str,
        customer: &str,
        login: &str,
        next: &str,
    ) -> String {
        let c = CustomerId::parse(customer).unwrap();
        let password = LoginPassword::new(LOGIN_PASSWORD);
        self.bank()
            .set_login_password(&root(), &c, &lid(login), &password, self.now())
            .unwrap();
        let (st, v) = json(
            addr,
            "POST",
            "/v1/login",
            key,
            &[],
            &serde_json::json!({"customer": customer, "login": login, "password": LOGIN_PASSWORD}),
        );
        assert_eq!((st, v["next"].as_str()), (200, Some(next)), "{v}");
        v["session"].as_str().unwrap().to_owned()
    }

    /// Serves this bank on 127.0.0.1 (plain HTTP, its settable clock).
    pub fn serve(&self, cfg: bank_http::ServeConfig) -> bank_http::Running {
        let (db, kp, pol) = (self.db.clone(), self.key_path.clone(), self.policy.clone());
        let now = self.now.clone();
        bank_http::serve(
            cfg,
            move || {
                let key = MasterKey::load(&kp).map_err(|e| e.to_string())?;
                let store = SqliteStore::open(&db, &key).map_err(|e| e.to_string())?;
                Ok(Bank::new(store, pol.clone()))
            },
            Arc::new(move || *now.lock().unwrap()),
        )
        .unwrap()
    }
}

/// One request on its own connection (`Connection: close`); `headers` are extra header lines
/// (`("X-Operator-Session", "…")`). Returns the status and the JSON body (`Null` if none).
pub fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    key: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
) -> (u16, Value) {
    let mut s = TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(k) = key {
        head.push_str(&format!("Authorization: Bearer {k}\r\n"));
    }
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    let bytes: &[u8] = match body {
        Some((ctype, b)) => {
            head.push_str(&format!(
                "Content-Type: {ctype}\r\nContent-Length: {}\r\n",
                b.len()
            ));
            b
        }
        None => &[],
    };
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let out = String::from_utf8_lossy(&out);
    let status = out.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0);
    let v = out
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, v)
}

/// A JSON request.
pub fn json(
    addr: SocketAddr,
    method: &str,
    path: &str,
    key: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> (u16, Value) {
    let b = body.to_string();
    call(
        addr,
        method,
        path,
        Some(key),
        headers,
        Some(("application/json", b.as_bytes())),
    )
}

/// `POST /v1/validate` of `login` of customer C1 with `code`, as the `login` client `key`.
pub fn validate_c1(addr: SocketAddr, key: &str, login: &str, code: &str) -> (u16, Value) {
    json(
        addr,
        "POST",
        "/v1/validate",
        key,
        &[],
        &serde_json::json!({"customer": "C1", "login": login, "code": code}),
    )
}

/// A self-signed certificate for `localhost` written into `dir`: the server's TLS files and a
/// client configuration (rustls, ring) that trusts it.
pub fn self_signed_tls(dir: &std::path::Path) -> (bank_http::Tls, Arc<rustls::ClientConfig>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    (bank_http::Tls { cert, key }, Arc::new(client))
}
