//! Bank IT's provisioning: customers, users, their passwords (scope `provisioning`), and
//! a `login` client's list of its signed-in user's own customer (issue #10).

use super::bodies::{CustomerBody, EmptyBody, LoginPasswordBody, PasswordBody, UserBody};
use super::query::{page_of, query, user_at};
use super::reply::{done, id_err, parse, refusal, Reply};
use super::Ctx;
use lifecycle::{ConfirmationSecret, CustomerId, LoginPassword, NewCustomer, NewUser, Store};
use serde_json::json;

/// The reply of this family's route `(method, segs)`, or `None` when the route is another
/// family's.
pub(super) fn route<S: Store>(c: &Ctx<'_, S>, segs: &[&str]) -> Result<Option<Reply>, Reply> {
    let Ctx {
        bank,
        who,
        q,
        body,
        customer_session,
        tz,
        now,
        ..
    } = *c;
    Ok(Some(match (c.method, segs) {
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
                // A list with a hole is not answered (500 stored_data_damaged): a client
                // would take a missing user for one that does not exist.
                bank.list_users(who, actor.as_ref(), &id, query(q, "filter"), page, now)
                    .and_then(lifecycle::bank::UserPage::whole),
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
            let detail = bank
                .show_customer(who, &id, now)
                .and_then(lifecycle::bank::CustomerDetail::whole);
            done(detail, |d| {
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
        _ => return Ok(None),
    }))
}
