//! Consent-gated record fetch between members (issue 6, item 3).
//!
//! The requester signs what it asks for with its institution key (its peer id); the holder
//! ([`Holder`]) checks the signature against the peer the request came from, that the peer is
//! an active member, and the resident's consents on chain per category (or records a
//! break-glass access on chain), appends an `AuditEvent` for the resident, and answers with a
//! proof bundle. The requester ([`Requester`]) checks every record against the holder's
//! registered key and its anchored head on chain before it hands out anything. The chain is
//! reached through [`FetchChain`], so both sides run in tests without one.

mod chain;
mod holder;
mod verify;

pub use chain::{FetchChain, MemberInfo, MemoryChain, NodeChain};
pub use holder::Holder;
pub use verify::{Ask, Fetched, PeerReport, Requester, VerifiedRecord};

use alloy::primitives::B256;

use crate::net::NetError;

/// Number of data categories a consent can name (bits 0..7 of the mask).
pub const CATEGORY_COUNT: u8 = 7;
/// Every category.
pub const ALL_CATEGORIES: u32 = (1 << CATEGORY_COUNT) - 1;
/// How far a request's `issued_at` may be from the holder's clock.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;
/// Longest break-glass reason accepted (it goes into the audit record).
pub const MAX_REASON_BYTES: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("chain: {0}")]
    Chain(String),
    #[error("the request is invalid: {0}")]
    Invalid(String),
    #[error("the holder refused: {0}")]
    Refused(String),
    #[error("the holder does not speak this fetch version")]
    Unsupported,
    /// The answer as a whole failed verification: nothing of it is used, the peer is reported.
    #[error("the answer was rejected: {0}")]
    Rejected(String),
    #[error(transparent)]
    Net(#[from] NetError),
}

/// The data category of a record kind, as consents name them (one mapping for locators and
/// fetch).
pub use super::locators::category_of;

/// A purpose-of-use code as the contract keys consents: ASCII, right-padded with zeros to 32
/// bytes.
pub fn purpose_code(purpose: &str) -> Result<B256, FetchError> {
    let bytes = purpose.as_bytes();
    if bytes.is_empty() || bytes.len() > 32 || !bytes.iter().all(u8::is_ascii_graphic) {
        return Err(FetchError::Invalid(format!(
            "purpose '{purpose}' is not a code of 1 to 32 printable ASCII characters"
        )));
    }
    let mut out = [0u8; 32];
    out[..bytes.len()].copy_from_slice(bytes);
    Ok(B256::from(out))
}

/// The categories of a mask, in order.
pub fn categories_in(mask: u32) -> impl Iterator<Item = u8> {
    (0..CATEGORY_COUNT).filter(move |c| mask & (1 << c) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_are_padded_codes() {
        let p = purpose_code("TREAT").unwrap();
        assert_eq!(&p[..5], b"TREAT");
        assert!(p[5..].iter().all(|b| *b == 0));
        assert!(purpose_code("").is_err());
        assert!(purpose_code("has space").is_err());
        assert!(purpose_code(&"X".repeat(33)).is_err());
    }

    #[test]
    fn categories_cover_the_mask() {
        assert_eq!(categories_in(0b101).collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!(categories_in(ALL_CATEGORIES).count(), 7);
        assert_eq!(category_of("Observation"), 1);
        assert_eq!(category_of("DocumentReference"), 6);
    }
}
