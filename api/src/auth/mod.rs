//! Who is asking: staff with bearer tokens (roles ingest, clinician, admin, auditor), residents
//! and regulators with Sign-In with Ethereum sessions ([`siwe`]). Handlers take a [`Principal`]
//! (or an [`Access`], which adds the purpose of use and a break-glass reason) and check it with
//! the `require_*` helpers, so the rules of who may do what live in one place: [`policy`].

pub mod policy;
pub mod siwe;
pub mod tokens;

use alloy_primitives::Address;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use hl_ledger::pseudonym::Pseudonym;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

/// A staff role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Pushes records from the institution's HIS/EMR; reads nothing of residents.
    Ingest,
    /// Reads residents' records for care (purpose TREAT), may break the glass (ETREAT).
    Clinician,
    /// Runs the node: ledger, anchors, QC summaries, resident wallet binding; no clinical reads.
    Admin,
    /// Reads access logs (AuditEvent), ledger proofs and QC, for oversight.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Ingest, Role::Clinician, Role::Admin, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Clinician => "clinician",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role '{s}' (ingest, clinician, admin, auditor)"))
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Staff {
        name: String,
        role: Role,
    },
    /// A resident signed in with the wallet bound to `pseudonym` on chain.
    Resident {
        address: Address,
        pseudonym: Pseudonym,
    },
    /// A regulator listed by the contract.
    Regulator {
        address: Address,
    },
}

impl Principal {
    /// The agent's name in audit records.
    pub fn who(&self) -> String {
        match self {
            Principal::Staff { name, .. } => format!("staff:{name}"),
            Principal::Resident { address, .. } => format!("resident:{address}"),
            Principal::Regulator { address } => format!("regulator:{address}"),
        }
    }

    /// The role named in audit records and the authorization matrix.
    pub fn role_name(&self) -> &'static str {
        match self {
            Principal::Staff { role, .. } => role.as_str(),
            Principal::Resident { .. } => "resident",
            Principal::Regulator { .. } => "regulator",
        }
    }

    pub fn role(&self) -> Option<Role> {
        match self {
            Principal::Staff { role, .. } => Some(*role),
            _ => None,
        }
    }
}

/// `Authorization: Bearer <token>`: a staff token (`hlt_…`) or a SIWE session (`hls_…`).
impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::unauthenticated(
                    "no Authorization header: send 'Bearer <token>' (staff token or SIWE session)",
                )
            })?;
        let text = header
            .to_str()
            .map_err(|_| ApiError::unauthenticated("Authorization header is not ASCII"))?;
        let token = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::unauthenticated("Authorization is not a Bearer token"))?
            .trim();
        state.authenticate(token).await
    }
}

/// Header naming the purpose of use (HL7 v3 PurposeOfUse code, e.g. TREAT, HOPERAT, PUBHLTH).
pub const PURPOSE_HEADER: &str = "x-purpose-of-use";
/// Header carrying a clinician's break-glass reason; its presence makes the read an
/// emergency read (purpose ETREAT): allowed, always audited and emitted on chain.
pub const BREAK_GLASS_HEADER: &str = "x-break-glass-reason";

/// A caller with the purpose they read for.
#[derive(Debug, Clone)]
pub struct Access {
    pub principal: Principal,
    /// v3 PurposeOfUse code.
    pub purpose: String,
    pub break_glass: Option<String>,
}

impl FromRequestParts<AppState> for Access {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = Principal::from_request_parts(parts, state).await?;
        let header = |name: &str| -> Result<Option<String>, ApiError> {
            match parts.headers.get(name) {
                None => Ok(None),
                Some(v) => v
                    .to_str()
                    .map(|s| Some(s.trim().to_owned()))
                    .map_err(|_| ApiError::bad_request(format!("header {name} is not ASCII"))),
            }
        };
        let break_glass = header(BREAK_GLASS_HEADER)?;
        let purpose = header(PURPOSE_HEADER)?;
        policy::access(principal, purpose, break_glass)
    }
}
