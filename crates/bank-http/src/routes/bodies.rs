//! The JSON bodies the routes take (`spec/bank-api.openapi.yaml`'s request schemas):
//! unknown fields are refused, passwords are [`SecretText`].

use lifecycle::{
    ConfirmationSecret, CustomerId, LoginId, Proof, SerialNumber, UsageMode, UserClass, UserRef,
};
use serde::Deserialize;

/// A password field of a body (the spec's `Secret`: it needs a character other than a line
/// end, since trailing line ends are dropped). An empty or line-ends-only password is a
/// malformed request, answered 400 `invalid_input` before any state is read, so a request
/// that cannot be a proof is never answered with what the named login's state is (locked).
pub(super) struct SecretText(pub(super) String);

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
pub(super) struct CustomerBody {
    pub(super) id: CustomerId,
    pub(super) name: String,
    pub(super) mode: UsageMode,
    #[serde(default)]
    pub(super) secret: Option<SecretText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UserBody {
    pub(super) login: LoginId,
    pub(super) customer: CustomerId,
    pub(super) name: String,
    pub(super) class: UserClass,
    #[serde(default = "yes")]
    pub(super) needs_otp: bool,
    #[serde(default)]
    pub(super) secret: Option<SecretText>,
}

pub(super) fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RevokeBody {
    #[serde(flatten)]
    pub(super) proof: ProofFieldsFlat,
    pub(super) targets: Vec<LoginId>,
}

/// The acting user's proof, flattened into a body: the actor is the login ID `actor` of
/// `customer` (login IDs are unique per customer only); the users the body names are looked
/// up in that customer.
#[derive(Deserialize)]
pub(super) struct ProofFieldsFlat {
    pub(super) customer: CustomerId,
    pub(super) actor: LoginId,
    pub(super) secret: SecretText,
    pub(super) code: String,
}

impl ProofFieldsFlat {
    pub(super) fn proof(self) -> Proof {
        Proof {
            actor: UserRef::new(self.customer, self.actor),
            secret: ConfirmationSecret::new(self.secret.0),
            code: self.code,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ModeBody {
    #[serde(flatten)]
    pub(super) proof: ProofFieldsFlat,
    pub(super) mode: UsageMode,
}

#[derive(Deserialize)]
pub(super) struct UnregisterBody {
    #[serde(flatten)]
    pub(super) proof: ProofFieldsFlat,
    pub(super) target: LoginId,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BackofficeBody {
    pub(super) reason: String,
    #[serde(default)]
    pub(super) serial: Option<SerialNumber>,
    /// The user's customer (with `user`).
    #[serde(default)]
    pub(super) customer: Option<CustomerId>,
    #[serde(default)]
    pub(super) user: Option<LoginId>,
}

/// A supervisor's rejection of a dual-control request (issue #10 review L1).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RejectBody {
    pub(super) reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RegisterBody {
    pub(super) customer: CustomerId,
    pub(super) login: LoginId,
    pub(super) serial: SerialNumber,
    pub(super) code: String,
}

#[derive(Deserialize)]
pub(super) struct RegisterForBody {
    #[serde(flatten)]
    pub(super) proof: ProofFieldsFlat,
    pub(super) target: LoginId,
    pub(super) serial: SerialNumber,
    pub(super) token_code: String,
}

#[derive(Deserialize)]
pub(super) struct PermissionBody {
    #[serde(flatten)]
    pub(super) proof: ProofFieldsFlat,
    pub(super) token_management: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordBody {
    pub(super) secret: SecretText,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EmptyBody {}

/// `POST /v1/login`: the first factor (ログイン).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FirstFactorBody {
    pub(super) customer: CustomerId,
    pub(super) login: LoginId,
    pub(super) password: SecretText,
}

/// `POST /v1/customers/{id}/users/{login}/login-password`: bank IT sets a login password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginPasswordBody {
    pub(super) login_password: SecretText,
}

/// `POST /v1/login-password`: the master sets a user's login password with the master's proof.
#[derive(Deserialize)]
pub(super) struct MasterLoginPasswordBody {
    #[serde(flatten)]
    pub(super) proof: ProofFieldsFlat,
    pub(super) target: LoginId,
    pub(super) login_password: SecretText,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginBody {
    pub(super) customer: CustomerId,
    pub(super) login: LoginId,
}

impl LoginBody {
    pub(super) fn user(&self) -> UserRef {
        UserRef::new(self.customer.clone(), self.login.clone())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ValidateBody {
    pub(super) customer: CustomerId,
    pub(super) login: LoginId,
    pub(super) code: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SessionBody {
    pub(super) name: lifecycle::OperatorId,
    pub(super) password: SecretText,
    pub(super) code: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IssueBody {
    pub(super) customer: CustomerId,
    #[serde(default)]
    pub(super) user: Option<LoginId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UnlockBody {
    pub(super) customer: CustomerId,
    pub(super) login: LoginId,
}
