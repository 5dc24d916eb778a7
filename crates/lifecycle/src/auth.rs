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
//! | `login`          | validate, register, skip, the acting user's own customer's user list  |
//! | `customer-admin` | revoke, mode, unregister (plus the actor's password and current code) |
//! | `provisioning`   | customers, users, issue, any customer's user list                     |
//! | `import`         | seed file imports                                                     |
//! | `backoffice`     | operator sessions; with a session: back-office revoke, unlock, token and customer lookup, requests, approvals |
//! | `audit`          | reading the audit log                                                 |
//!
//! API clients and operators are managed only from the CLI ([`Caller::Local`]).

use crate::access::Role;
use crate::error::Error;
use crate::ids::{ClientName, OperatorId};
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
    /// Read the audit log.
    ReadAudit,
    /// Add, list, revoke API clients; add operators (CLI only).
    ManageAccess,
}

impl Action {
    /// The scope a client needs; `None` for actions reserved to the CLI.
    pub fn scope(self) -> Option<Scope> {
        use Action::*;
        Some(match self {
            AddCustomer | AddUser | IssueToken => Scope::Provisioning,
            ListUsers | Validate | Register | Skip => Scope::Login,
            Import => Scope::Import,
            Revoke | ChangeMode | Unregister => Scope::CustomerAdmin,
            OpenOperatorSession | CloseOperatorSession | BackofficeRevoke | Unlock
            | TokenLookup | CustomerLookup | ListRequests | Approve => Scope::Backoffice,
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
                | Action::Approve
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
                    if action == Action::Approve && *role != Role::Supervisor {
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
}
