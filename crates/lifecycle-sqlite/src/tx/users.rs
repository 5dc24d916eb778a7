//! Users' rows, keyed by customer and login ID (kept in the connection's row cache).

use super::{first, inserted, ts, updated, SqlTx};
use lifecycle::store::columns::{user_at, Reading, USERS};
use lifecycle::store::{Listing, UserRows};
use lifecycle::{CustomerId, LoginId, SecretHash, SerialNumber, StoreError, User};
use rusqlite::params;

const USER_COLS: &str = "login, customer, name, class, needs_otp, secret_hash, serial, issued, last_revoked_at, awaiting_registration, failures, locked_until, token_management, login_password_hash, last_locked_at";

/// One user by its key (`USER_COLS`, spelt out: a constant string, so the statement cache
/// finds it without a `format!` per login check).
const USER_BY_KEY: &str = "SELECT login, customer, name, class, needs_otp, secret_hash, serial, issued, last_revoked_at, awaiting_registration, failures, locked_until, token_management, login_password_hash, last_locked_at FROM users WHERE customer = ?1 AND login = ?2";

impl SqlTx<'_> {
    /// The users matching `clause` (with `keys` as ?1, ?2…), ordered by customer and login.
    fn users_where(&self, clause: &str, keys: &[&str]) -> Result<Listing<User>, StoreError> {
        self.select_listing(
            &format!("SELECT {USER_COLS} FROM users WHERE {clause} ORDER BY customer, login"),
            rusqlite::params_from_iter(keys),
            |r| user_at(r, 0),
        )
    }

    fn write_user(&self, sql_text: &str, u: &User) -> Result<usize, rusqlite::Error> {
        self.run(
            sql_text,
            params![
                u.login.as_str(),
                u.customer.as_str(),
                u.name,
                u.class.as_str(),
                u.needs_otp,
                u.secret.as_ref().map(SecretHash::as_phc),
                u.serial.as_ref().map(SerialNumber::as_str),
                u.issued.as_ref().map(SerialNumber::as_str),
                u.last_revoked_at.map(ts),
                u.awaiting_registration,
                u.failures,
                u.locked_until.map(ts),
                u.token_management,
                u.login_password.as_ref().map(SecretHash::as_phc),
                u.last_locked_at.map(ts),
            ],
        )
    }
}

impl UserRows for SqlTx<'_> {
    fn logins_ignoring_case(
        &mut self,
        users: &[(CustomerId, LoginId)],
    ) -> Result<Vec<(CustomerId, LoginId)>, StoreError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for any number of users: [customer, lowered login] pairs as a JSON
        // array (json_each); `lower()` of SQLite folds ASCII only, which is what IDs are.
        let pairs: Vec<[String; 2]> = users
            .iter()
            .map(|(c, l)| [c.as_str().to_owned(), l.as_str().to_ascii_lowercase()])
            .collect();
        let list = serde_json::to_string(&pairs)
            .map_err(|e| StoreError::Backend(format!("login IDs: {e}")))?;
        // Login then customer: the first columns of `USERS`, as the decoder names them.
        self.select(
            "SELECT login, customer FROM users WHERE (customer, lower(login)) IN \
             (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1)) \
             ORDER BY customer, login",
            [list],
            |r| {
                let row = Reading::new(r, 0, &USERS);
                Ok((row.id(1, CustomerId::parse)?, row.id(0, LoginId::parse)?))
            },
        )
    }

    fn insert_user(&mut self, u: &User) -> Result<(), StoreError> {
        if let Some(c) = self.rows.as_mut() {
            c.forget_user(&u.customer, &u.login);
        }
        let r = self.write_user(&format!("INSERT INTO users ({USER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"), u);
        inserted(r, "user", || format!("{}/{}", u.customer, u.login))
    }

    fn user(&mut self, customer: &CustomerId, login: &LoginId) -> Result<Option<User>, StoreError> {
        if let Some(u) = self.rows.as_mut().and_then(|c| c.user(customer, login)) {
            return Ok(Some(u));
        }
        let user = first(
            self.select(USER_BY_KEY, [customer.as_str(), login.as_str()], |r| {
                user_at(r, 0)
            }),
        )?;
        if let (Some(u), Some(c)) = (&user, self.rows.as_mut()) {
            c.put_user(u);
        }
        Ok(user)
    }

    fn users_by_login(&mut self, login: &LoginId) -> Result<Vec<User>, StoreError> {
        self.users_where("login = ?1", &[login.as_str()])?.whole()
    }

    fn update_user(&mut self, u: &User) -> Result<(), StoreError> {
        let r = self.write_user(
            "UPDATE users SET name = ?3, class = ?4, needs_otp = ?5, secret_hash = ?6, serial = ?7, issued = ?8, \
             last_revoked_at = ?9, awaiting_registration = ?10, failures = ?11, locked_until = ?12, token_management = ?13, \
             login_password_hash = ?14, last_locked_at = ?15 WHERE customer = ?2 AND login = ?1",
            u,
        );
        updated(r, "user", || format!("{}/{}", u.customer, u.login))?;
        if let Some(c) = self.rows.as_mut() {
            c.put_user(u);
        }
        Ok(())
    }

    fn users_of_customer(&mut self, cid: &CustomerId) -> Result<Listing<User>, StoreError> {
        self.users_where("customer = ?1", &[cid.as_str()])
    }

    fn delete_user(&mut self, customer: &CustomerId, login: &LoginId) -> Result<(), StoreError> {
        if let Some(c) = self.rows.as_mut() {
            c.forget_user(customer, login);
        }
        let r = self.run(
            "DELETE FROM users WHERE customer = ?1 AND login = ?2",
            [customer.as_str(), login.as_str()],
        );
        updated(r, "user", || format!("{customer}/{login}"))
    }

    fn users_of_token(&mut self, serial: &SerialNumber) -> Result<Vec<User>, StoreError> {
        self.users_where("serial = ?1", &[serial.as_str()])?.whole()
    }
}
