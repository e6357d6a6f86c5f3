//! Staff bearer tokens: `hlt_` + 43 base64url characters (32 random bytes). Only their
//! SHA-256 is stored (in the config), so a leaked config does not leak tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::Role;
use crate::config::StaffToken;

pub const STAFF_PREFIX: &str = "hlt_";

/// A new token for `name` with `role`: the secret text (shown once) and what the config keeps.
pub fn create(name: &str, role: Role) -> (String, StaffToken) {
    let bytes: [u8; 32] = rand::random();
    let secret = format!("{STAFF_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let stored = StaffToken {
        name: name.to_owned(),
        role,
        sha256: hash(&secret),
    };
    (secret, stored)
}

/// Hex SHA-256 of a token's text.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The stored token matching `secret`, if any.
pub fn find<'a>(tokens: &'a [StaffToken], secret: &str) -> Option<&'a StaffToken> {
    let h = hash(secret);
    tokens.iter().find(|t| t.sha256.eq_ignore_ascii_case(&h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_token_is_found_by_its_secret_only() {
        let (secret, stored) = create("alice", Role::Clinician);
        assert!(secret.starts_with(STAFF_PREFIX));
        assert_eq!(secret.len(), STAFF_PREFIX.len() + 43);
        let tokens = vec![stored.clone()];
        assert_eq!(find(&tokens, &secret), Some(&stored));
        let mut wrong = secret.clone();
        wrong.pop();
        wrong.push('x');
        assert_eq!(find(&tokens, &wrong), None);
        assert!(!stored.sha256.contains(&secret[4..]));
    }
}
