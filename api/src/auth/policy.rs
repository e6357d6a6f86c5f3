//! Who may do what: one table for every route, so the authorization matrix test and the
//! handlers read the same rules.

use hl_ledger::pseudonym::Pseudonym;

use super::{Access, Principal, Role};
use crate::error::ApiError;

/// What a request does, with the resident it concerns where there is one.
#[derive(Debug, Clone, Copy)]
pub enum Op<'a> {
    /// Write records (POST /fhir, create, update).
    Write,
    /// Read a resident's clinical records (read, search, `$everything`, proof bundles).
    ReadResident(&'a Pseudonym),
    /// Read records of no resident (Organization, Practitioner…).
    ReadShared,
    /// Read a resident's access log (AuditEvent).
    ReadAudit(&'a Pseudonym),
    /// Read a resident's consents.
    ReadConsent(&'a Pseudonym),
    /// Relay a resident's signed grant or revocation.
    RelayConsent(&'a Pseudonym),
    /// Bind a resident's wallet on chain.
    BindWallet,
    /// Checkpoints, proofs, anchors.
    Ledger,
    /// One resident's QC findings, score and events.
    QcResident(&'a Pseudonym),
    /// Institution-wide QC summary and event stream.
    QcInstitution,
    /// The consortium network's status: peers, checkpoints, split views.
    Consortium,
}

impl Op<'_> {
    fn name(&self) -> &'static str {
        match self {
            Op::Write => "write records",
            Op::ReadResident(_) => "read residents' records",
            Op::ReadShared => "read shared records",
            Op::ReadAudit(_) => "read access logs",
            Op::ReadConsent(_) => "read consents",
            Op::RelayConsent(_) => "relay consents",
            Op::BindWallet => "bind residents' wallets",
            Op::Ledger => "read the ledger",
            Op::QcResident(_) => "read residents' QC",
            Op::QcInstitution => "read the institution's QC",
            Op::Consortium => "read the consortium network's status",
        }
    }
}

/// Whether `p` may do `op`; a 403 naming the reason if not.
pub fn allow(p: &Principal, op: Op<'_>) -> Result<(), ApiError> {
    use Op::*;
    use Role::*;
    let own = |r: &Pseudonym| matches!(p, Principal::Resident { pseudonym, .. } if pseudonym == r);
    let ok = match (p, op) {
        (Principal::Staff { role, .. }, op) => match op {
            Write => *role == Ingest,
            ReadResident(_) => *role == Clinician,
            ReadShared => *role != Ingest,
            ReadAudit(_) => *role == Auditor,
            ReadConsent(_) => matches!(role, Clinician | Auditor | Admin),
            RelayConsent(_) => *role == Admin,
            BindWallet => *role == Admin,
            Ledger => true,
            QcResident(_) => matches!(role, Clinician | Auditor | Admin),
            QcInstitution | Consortium => matches!(role, Clinician | Auditor | Admin),
        },
        (Principal::Resident { .. }, op) => match op {
            ReadResident(r) | ReadAudit(r) | ReadConsent(r) | RelayConsent(r) | QcResident(r) => {
                own(r)
            }
            ReadShared | Ledger => true,
            Write | BindWallet | QcInstitution | Consortium => false,
        },
        (Principal::Regulator { .. }, op) => {
            matches!(op, Ledger | QcResident(_) | QcInstitution | Consortium)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::forbidden(match (p, op) {
            (Principal::Resident { .. }, _) => {
                "a resident may see and manage only their own records".to_owned()
            }
            _ => format!("role '{}' may not {}", p.role_name(), op.name()),
        }))
    }
}

/// The purpose each caller reads for unless they say otherwise.
fn default_purpose(p: &Principal) -> &'static str {
    match p {
        Principal::Staff {
            role: Role::Clinician,
            ..
        } => "TREAT",
        Principal::Resident { .. } => "PATRQT",
        _ => "HOPERAT",
    }
}

/// Checks the stated purpose and break-glass reason against who is asking.
pub fn access(
    principal: Principal,
    purpose: Option<String>,
    break_glass: Option<String>,
) -> Result<Access, ApiError> {
    if let Some(reason) = &break_glass {
        if principal.role() != Some(Role::Clinician) {
            return Err(ApiError::forbidden("only a clinician may break the glass"));
        }
        if reason.chars().count() < 5 {
            return Err(ApiError::bad_request(
                "a break-glass read needs a reason of at least 5 characters",
            ));
        }
        if purpose.as_deref().is_some_and(|p| p != "ETREAT") {
            return Err(ApiError::bad_request(
                "a break-glass read has purpose ETREAT; drop X-Purpose-Of-Use or set it to ETREAT",
            ));
        }
        return Ok(Access {
            principal,
            purpose: "ETREAT".into(),
            break_glass,
        });
    }
    let default = default_purpose(&principal);
    let purpose = purpose.unwrap_or_else(|| default.to_owned());
    let allowed: &[&str] = match principal.role() {
        Some(Role::Clinician) => &["TREAT", "PUBHLTH", "HOPERAT"],
        _ => &[default],
    };
    if purpose == "ETREAT" {
        return Err(ApiError::bad_request(
            "purpose ETREAT needs a break-glass reason in X-Break-Glass-Reason",
        ));
    }
    if !allowed.contains(&purpose.as_str()) {
        return Err(ApiError::forbidden(format!(
            "purpose of use '{purpose}' is not allowed for role '{}' (allowed: {})",
            principal.role_name(),
            allowed.join(", ")
        )));
    }
    Ok(Access {
        principal,
        purpose,
        break_glass: None,
    })
}

impl Access {
    pub fn allow(&self, op: Op<'_>) -> Result<(), ApiError> {
        allow(&self.principal, op)
    }
}
