//! Authorization as a domain concept: who may do what (issue #10).
//!
//! A request reaches a use case with a [`Caller`], the identity the edge authenticated:
//! an API client by its bearer key, an operator session opened through such a client, or the
//! CLI on the database file (the bank's root access). Every use case names its [`Action`];
//! [`Caller::authorize`] decides, in the domain, before anything is read. The HTTP layer only
//! maps credentials to a `Caller` and errors to statuses.
//!
//! | scope            | actions                                                              |
//! |------------------|----------------------------------------------------------------------|
//! | `login`          | login (first factor), validate, register, skip, the acting user's own customer's user list |
//! | `customer-admin` | revoke, mode, unregister, register for another user, 利用権限, a user's login password (plus the actor's password and current code) |
//! | `provisioning`   | customers (add, list, show), users (add, remove, set password, set login password), issue, any customer's user list |
//! | `import`         | seed file imports                                                     |
//! | `backoffice`     | operator sessions; with a session: back-office revoke, unlock, token and customer lookup, token list, requests, approvals |
//!
//! Inside a customer, [`user_may`] decides what the acting *user* may do (class by policy,
//! then the master-granted 利用権限, `002`).
//! | `audit`          | reading the audit log                                                 |
//!
//! API clients and operators are managed only from the CLI ([`Caller::Local`]).

use crate::access::Role;
use crate::error::Error;
use crate::ids::{ClientName, OperatorId};
use crate::model::{User, UserClass};
use crate::policy::{AdminRoles, RolePolicy};
use serde::{Deserialize, Serialize};

/// What an API client's key allows (named per route in `spec/bank-api.openapi.yaml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Login-time calls of the internet-banking front end.
    Login,
    /// A customer's administrators' calls (each also proves the acting user).
    CustomerAdmin,
    /// Creating customers and users, issuing tokens.
    Provisioning,
    /// Importing seed files.
    Import,
    /// Back-office calls (with an operator session).
    Backoffice,
    /// Reading the audit log.
    Audit,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 6] = [
        Scope::Login,
        Scope::CustomerAdmin,
        Scope::Provisioning,
        Scope::Import,
        Scope::Backoffice,
        Scope::Audit,
    ];

    /// `login`, `customer-admin`, `provisioning`, `import`, `backoffice`, `audit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Login => "login",
            Scope::CustomerAdmin => "customer-admin",
            Scope::Provisioning => "provisioning",
            Scope::Import => "import",
            Scope::Backoffice => "backoffice",
            Scope::Audit => "audit",
        }
    }

    /// Parses a scope name.
    pub fn parse(s: &str) -> Result<Self, Error> {
        Scope::ALL
            .into_iter()
            .find(|x| x.as_str() == s.trim())
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "unknown scope {s:?}: use login, customer-admin, provisioning, import, backoffice or audit"
                ))
            })
    }
}

/// The stored form of a scope list: `login,customer-admin`.
pub fn scopes_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses a stored (or typed) scope list, comma-separated.
pub fn parse_scopes(text: &str) -> Result<Vec<Scope>, Error> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(Scope::parse)
        .collect()
}

/// Every use case, for authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Add a customer.
    AddCustomer,
    /// Add a user.
    AddUser,
    /// Issue a token to a customer.
    IssueToken,
    /// List a customer's users.
    ListUsers,
    /// Import a seed file.
    Import,
    /// Check a login code.
    Validate,
    /// Register a token.
    Register,
    /// Skip registration.
    Skip,
    /// Revoke tokens (customer side).
    Revoke,
    /// Change the usage mode.
    ChangeMode,
    /// Remove a registration.
    Unregister,
    /// Open an operator session.
    OpenOperatorSession,
    /// Close one's own operator session (sign-out).
    CloseOperatorSession,
    /// Back-office revocation.
    BackofficeRevoke,
    /// Lift a lockout.
    Unlock,
    /// Read a token (no seed).
    TokenLookup,
    /// Read a customer and its users (back office).
    CustomerLookup,
    /// List the dual-control requests waiting for approval (back office).
    ListRequests,
    /// Approve a dual-control request (a supervisor).
    Approve,
    /// Withdraw one's own dual-control request (its requester, issue #10 review L1).
    WithdrawRequest,
    /// Reject a dual-control request, with a reason (a supervisor other than the requester).
    RejectRequest,
    /// Read the audit log.
    ReadAudit,
    /// Add, list, revoke API clients; add operators (CLI only).
    ManageAccess,
    /// An administrator registers a serial for another user of the customer (`001`, `002`).
    RegisterForOthers,
    /// The master grants or withdraws a user's token-management permission (利用権限, `002`).
    GrantPermission,
    /// List customers, show one (back-office administration, issue #15).
    ReadCustomers,
    /// Remove a user.
    RemoveUser,
    /// Set a user's confirmation password (確認用パスワード).
    SetPassword,
    /// List tokens by status (no seeds).
    ListTokens,
    /// The first factor of a customer user's login: customer ID, login ID, login password
    /// (ログイン, issue #11).
    Login,
    /// Bank IT sets a user's login password (ログインパスワード).
    SetLoginPassword,
    /// The master sets a login password of a user of the customer (with the master's proof).
    SetLoginPasswordForOthers,
}

impl Action {
    /// The scope a client needs; `None` for actions reserved to the CLI.
    pub fn scope(self) -> Option<Scope> {
        use Action::*;
        Some(match self {
            AddCustomer | AddUser | IssueToken | ReadCustomers | RemoveUser | SetPassword
            | SetLoginPassword => Scope::Provisioning,
            ListUsers | Validate | Register | Skip | Login => Scope::Login,
            Import => Scope::Import,
            Revoke
            | ChangeMode
            | Unregister
            | RegisterForOthers
            | GrantPermission
            | SetLoginPasswordForOthers => Scope::CustomerAdmin,
            OpenOperatorSession | CloseOperatorSession | BackofficeRevoke | Unlock
            | TokenLookup | CustomerLookup | ListRequests | ListTokens | Approve
            | WithdrawRequest | RejectRequest => Scope::Backoffice,
            ReadAudit => Scope::Audit,
            ManageAccess => return None,
        })
    }

    /// Whether an operator session is needed on top of the scope.
    pub fn needs_operator(self) -> bool {
        matches!(
            self,
            Action::BackofficeRevoke
                | Action::Unlock
                | Action::TokenLookup
                | Action::CustomerLookup
                | Action::ListRequests
                | Action::ListTokens
                | Action::Approve
                | Action::WithdrawRequest
                | Action::RejectRequest
                | Action::CloseOperatorSession
        )
    }
}

/// The authenticated identity behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The CLI on the database file, as this local OS user: may do everything (root access).
    Local(String),
    /// An API client authenticated by its bearer key.
    Client {
        /// The client.
        name: ClientName,
        /// Its scopes.
        scopes: Vec<Scope>,
    },
    /// An operator session, opened through an API client.
    Operator {
        /// The client that carries the session.
        client: ClientName,
        /// The client's scopes.
        scopes: Vec<Scope>,
        /// The authenticated operator.
        operator: OperatorId,
        /// Their role.
        role: Role,
    },
}

impl Caller {
    /// `client:NAME` or `local:USER`: the `via` of audit entries.
    pub fn via(&self) -> String {
        match self {
            Caller::Local(u) => format!("local:{u}"),
            Caller::Client { name, .. } | Caller::Operator { client: name, .. } => {
                format!("client:{name}")
            }
        }
    }

    /// The actor of entries that no user proof narrows down.
    pub fn actor(&self) -> crate::audit::Actor {
        use crate::audit::Actor;
        match self {
            Caller::Local(u) => Actor::Local(u.clone()),
            Caller::Client { name, .. } => Actor::Client(name.to_string()),
            Caller::Operator { operator, .. } => Actor::Operator(operator.to_string()),
        }
    }

    /// Whether the caller holds `scope` (the CLI holds every scope).
    pub fn has_scope(&self, scope: Scope) -> bool {
        match self {
            Caller::Local(_) => true,
            Caller::Client { scopes, .. } | Caller::Operator { scopes, .. } => {
                scopes.contains(&scope)
            }
        }
    }

    /// Decides whether the caller may do `action`: `Forbidden` naming the missing scope,
    /// `OperatorSessionRequired` for back-office actions without a session,
    /// `SupervisorRequired` for approvals by a plain operator.
    pub fn authorize(&self, action: Action) -> Result<(), Error> {
        if let Caller::Local(_) = self {
            return Ok(());
        }
        let Some(scope) = action.scope() else {
            return Err(Error::Forbidden {
                needs: "the bank CLI on the database file".into(),
            });
        };
        if !self.has_scope(scope) {
            return Err(Error::Forbidden {
                needs: format!("an API key with the scope {}", scope.as_str()),
            });
        }
        if action.needs_operator() {
            match self {
                Caller::Operator { role, .. } => {
                    let supervisors = matches!(action, Action::Approve | Action::RejectRequest);
                    if supervisors && *role != Role::Supervisor {
                        return Err(Error::Forbidden {
                            needs: "a supervisor's operator session".into(),
                        });
                    }
                }
                _ => return Err(Error::OperatorSessionRequired),
            }
        }
        Ok(())
    }

    /// The user-list rule: a `provisioning` client lists any customer; a `login` client
    /// only the customer of the user it acts for (`acting`).
    pub fn may_list_any_customer(&self) -> bool {
        self.has_scope(Scope::Provisioning)
    }
}

/// What a customer's own user does for the customer from the admin menu
/// (管理機能 → ワンタイムパスワード認証情報管理, `001`, `002`). A [`Caller`] authorizes the
/// *request* (its scope); [`user_may`] authorizes the *user* behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerAction {
    /// Revoke tokens (失効, DOMAIN.md §4).
    Revoke,
    /// Change the usage mode (利用形態の変更, `001`, `002`).
    ChangeMode,
    /// Remove a user's registration (利用登録解除, `001`, `002`).
    Unregister,
    /// Register a serial for another user (利用者のワンタイムパスワードの登録, `001`, `002`).
    RegisterForOthers,
    /// Grant or withdraw another user's 利用権限 (`002` 第３章 １９．（３）利用権限変更).
    GrantPermission,
    /// Set a user's login password (ログインパスワード, issue #11: "set by the bank or by the
    /// master"): the master only.
    SetLoginPassword,
    /// Open the customer's user list (利用者一覧, issue #11: master or admin user, `000`,
    /// `002`); a general user sees only their own record (the front end reads it with
    /// [`crate::Bank::acting_user`]).
    ListUsers,
}

impl CustomerAction {
    /// What the action is, for messages ("may not …").
    pub fn what(self) -> &'static str {
        match self {
            CustomerAction::Revoke => "revoke tokens",
            CustomerAction::ChangeMode => "change the usage mode",
            CustomerAction::Unregister => "unregister tokens",
            CustomerAction::RegisterForOthers => "register tokens for other users",
            CustomerAction::GrantPermission => "change another user's permissions",
            CustomerAction::SetLoginPassword => "set login passwords",
            CustomerAction::ListUsers => "list the customer's users",
        }
    }
}

/// Whether `user` may do `action` for their customer: the bank's role policy (who, by
/// class: `000` master or admin, `002`/`003` master only) and then the user's own
/// token-management permission (利用権限, granted by the master, `002`: 「利用権限がない
/// ユーザの場合、サブメニュー上は表示されません」). The master always holds the permission;
/// only the master changes permissions.
///
/// Pure: the web pages call it to decide which menu entries to show, the use cases call it
/// after the actor's proof. Errors: [`Error::NotAllowed`] naming the user, the class, the
/// action and who may do it.
pub fn user_may(user: &User, action: CustomerAction, roles: &RolePolicy) -> Result<(), Error> {
    let needed = match action {
        CustomerAction::Revoke => roles.revoke,
        CustomerAction::ChangeMode
        | CustomerAction::Unregister
        | CustomerAction::RegisterForOthers => roles.mode_change,
        CustomerAction::GrantPermission | CustomerAction::SetLoginPassword => {
            AdminRoles::MasterOnly
        }
        // 利用者一覧 is the admin menu's screen (issue #11: master/admin), whatever the
        // bank's policy reserves the changes to.
        CustomerAction::ListUsers => AdminRoles::MasterAndAdmin,
    };
    let by_class = match needed {
        AdminRoles::MasterAndAdmin => matches!(user.class, UserClass::Master | UserClass::Admin),
        AdminRoles::MasterOnly => user.class == UserClass::Master,
    };
    if !by_class {
        return Err(Error::NotAllowed {
            login: user.login.clone(),
            class: user.class.label_ja(),
            action: action.what(),
            who: match needed {
                AdminRoles::MasterAndAdmin => "master or an admin user",
                AdminRoles::MasterOnly => "master user",
            },
        });
    }
    if !user.has_token_management() {
        return Err(Error::NotAllowed {
            login: user.login.clone(),
            class: user.class.label_ja(),
            action: action.what(),
            who: "master user to grant the token-management permission (利用権限)",
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn client(scopes: &[Scope]) -> Caller {
        Caller::Client {
            name: ClientName::parse("ib").unwrap(),
            scopes: scopes.to_vec(),
        }
    }

    #[test]
    fn a_login_key_cannot_revoke_or_read_the_audit_log() {
        let c = client(&[Scope::Login]);
        assert!(c.authorize(Action::Validate).is_ok());
        assert_eq!(c.authorize(Action::Revoke).unwrap_err().code(), "forbidden");
        assert_eq!(
            c.authorize(Action::ReadAudit).unwrap_err().code(),
            "forbidden"
        );
        assert_eq!(
            c.authorize(Action::ManageAccess).unwrap_err().code(),
            "forbidden"
        );
    }

    #[test]
    fn backoffice_scope_without_a_session_cannot_unlock() {
        let c = client(&[Scope::Backoffice]);
        assert!(c.authorize(Action::OpenOperatorSession).is_ok());
        assert_eq!(
            c.authorize(Action::Unlock).unwrap_err().code(),
            "operator_session_required"
        );
    }

    #[test]
    fn only_a_supervisor_approves() {
        let op = |role| Caller::Operator {
            client: ClientName::parse("bo").unwrap(),
            scopes: vec![Scope::Backoffice],
            operator: OperatorId::parse("sato").unwrap(),
            role,
        };
        assert!(op(Role::Operator).authorize(Action::Unlock).is_ok());
        assert!(op(Role::Operator).authorize(Action::Approve).is_err());
        assert!(op(Role::Supervisor).authorize(Action::Approve).is_ok());
    }

    fn user(class: UserClass, token_management: bool) -> User {
        let mut u = User::new(
            crate::ids::LoginId::parse("hanakodt").unwrap(),
            crate::ids::CustomerId::parse("C0001").unwrap(),
            "データ花子".into(),
            class,
            true,
        );
        u.token_management = token_management;
        u
    }

    #[test]
    fn an_admin_without_token_management_permission_cannot_revoke_register_for_others_or_change_the_mode(
    ) {
        let roles = RolePolicy::default();
        let admin = user(UserClass::Admin, false);
        for a in [
            CustomerAction::Revoke,
            CustomerAction::RegisterForOthers,
            CustomerAction::ChangeMode,
            CustomerAction::Unregister,
        ] {
            let e = user_may(&admin, a, &roles).unwrap_err();
            assert_eq!(e.code(), "not_allowed");
            assert!(e.to_string().contains("利用権限"), "{e}");
        }
        let granted = user(UserClass::Admin, true);
        assert!(user_may(&granted, CustomerAction::Revoke, &roles).is_ok());
        assert!(user_may(&granted, CustomerAction::GrantPermission, &roles).is_err());
    }

    #[test]
    fn the_master_always_holds_the_permission_and_alone_grants_it() {
        let roles = RolePolicy::default();
        let master = user(UserClass::Master, false);
        assert!(user_may(&master, CustomerAction::Revoke, &roles).is_ok());
        assert!(user_may(&master, CustomerAction::GrantPermission, &roles).is_ok());
        let general = user(UserClass::General, true);
        assert!(user_may(&general, CustomerAction::Revoke, &roles).is_err());
    }
}
