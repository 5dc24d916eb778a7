//! Users' rows, keyed by customer and login ID.

use super::{inserted, PgTx};
use crate::rows::{self, ts};
use lifecycle::store::columns::{user_at, written, Reading, USERS};
use lifecycle::store::{Listing, UserRows};
use lifecycle::{CustomerId, LoginId, SecretHash, SerialNumber, StoreError, User};
use postgres::types::ToSql;

fn user_cols() -> String {
    rows::cols("", rows::USER_COLS)
}

impl PgTx<'_> {
    /// The users matching `clause` (with `keys` as $1, $2…), ordered by customer and login.
    fn users_where(&mut self, clause: &str, keys: &[&str]) -> Result<Listing<User>, StoreError> {
        let params: Vec<&(dyn ToSql + Sync)> =
            keys.iter().map(|k| k as &(dyn ToSql + Sync)).collect();
        self.select_listing(
            &format!(
                "SELECT {} FROM users WHERE {clause} ORDER BY customer, login",
                user_cols()
            ),
            &params,
            |r| user_at(r, 0),
        )
    }

    fn write_user(&mut self, sql_text: &str, u: &User) -> Result<u64, StoreError> {
        let params: [&(dyn ToSql + Sync); 15] = [
            &u.login.as_str(),
            &u.customer.as_str(),
            &u.name,
            &u.class.as_str(),
            &u.needs_otp,
            &u.secret.as_ref().map(SecretHash::as_phc),
            &u.serial.as_ref().map(SerialNumber::as_str),
            &u.issued.as_ref().map(SerialNumber::as_str),
            &u.last_revoked_at.map(ts),
            &u.awaiting_registration,
            &i64::from(u.failures),
            &u.locked_until.map(ts),
            &u.token_management,
            &u.login_password.as_ref().map(SecretHash::as_phc),
            &u.last_locked_at.map(ts),
        ];
        self.run(sql_text, &params)
    }
}

impl UserRows for PgTx<'_> {
    fn logins_ignoring_case(
        &mut self,
        users: &[(CustomerId, LoginId)],
    ) -> Result<Vec<(CustomerId, LoginId)>, StoreError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        self.flush()?;
        // IDs are ASCII (ids.rs), which lower() folds whatever the database's locale.
        let customers: Vec<&str> = users.iter().map(|(c, _)| c.as_str()).collect();
        let lowered: Vec<String> = users
            .iter()
            .map(|(_, l)| l.as_str().to_ascii_lowercase())
            .collect();
        // Login then customer: the first columns of `USERS`, as the decoder names them.
        self.select(
            "SELECT login, customer FROM users WHERE (customer, lower(login)) IN \
             (SELECT * FROM unnest($1::text[], $2::text[])) ORDER BY customer, login",
            &[&customers, &lowered],
            |r| {
                let row = Reading::new(r, 0, &USERS);
                Ok((row.id(1, CustomerId::parse)?, row.id(0, LoginId::parse)?))
            },
        )
    }

    fn insert_user(&mut self, u: &User) -> Result<(), StoreError> {
        let n = self.write_user(&format!("INSERT INTO users ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT DO NOTHING", user_cols()), u)?;
        inserted(n, "user", || format!("{}/{}", u.customer, u.login))
    }

    fn user(&mut self, customer: &CustomerId, login: &LoginId) -> Result<Option<User>, StoreError> {
        Ok(self
            .users_where(
                "customer = $1 AND login = $2",
                &[customer.as_str(), login.as_str()],
            )?
            .whole()?
            .into_iter()
            .next())
    }

    fn users_by_login(&mut self, login: &LoginId) -> Result<Vec<User>, StoreError> {
        self.users_where("login = $1", &[login.as_str()])?.whole()
    }

    fn update_user(&mut self, u: &User) -> Result<(), StoreError> {
        let n = self.write_user(
            "UPDATE users SET name = $3, class = $4, needs_otp = $5, secret_hash = $6, serial = $7, issued = $8, \
             last_revoked_at = $9, awaiting_registration = $10, failures = $11, locked_until = $12, token_management = $13, \
             login_password_hash = $14, last_locked_at = $15 WHERE customer = $2 AND login = $1",
            u,
        )?;
        written(n, "user", || format!("{}/{}", u.customer, u.login))
    }

    fn users_of_customer(&mut self, cid: &CustomerId) -> Result<Listing<User>, StoreError> {
        self.users_where("customer = $1", &[cid.as_str()])
    }

    fn delete_user(&mut self, customer: &CustomerId, login: &LoginId) -> Result<(), StoreError> {
        let n = self.run(
            "DELETE FROM users WHERE customer = $1 AND login = $2",
            &[&customer.as_str(), &login.as_str()],
        )?;
        written(n, "user", || format!("{customer}/{login}"))
    }

    fn users_of_token(&mut self, serial: &SerialNumber) -> Result<Vec<User>, StoreError> {
        self.users_where("serial = $1", &[serial.as_str()])?.whole()
    }
}
