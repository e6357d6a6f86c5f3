//! C2SP `signed-note` with Ed25519 keys, and the C2SP `tlog-checkpoint` body it signs.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::merkle::Hash;

const ED25519_ALG: u8 = 0x01;
const SIG_PREFIX: &str = "\u{2014} ";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("key name {0:?} is empty or contains a space, '+' or a newline")]
    BadKeyName(String),
    #[error("malformed verifier key: {0}")]
    BadVerifierKey(&'static str),
    #[error("malformed signer key: {0}")]
    BadSignerKey(&'static str),
    #[error("malformed signed note: {0}")]
    Malformed(&'static str),
    #[error("no signature by key {name}+{key_id:08x} on the note")]
    NoSignature { name: String, key_id: u32 },
    #[error("signature by {name}+{key_id:08x} does not verify")]
    BadSignature { name: String, key_id: u32 },
    #[error("malformed checkpoint: {0}")]
    BadCheckpoint(&'static str),
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains([' ', '+', '\n', '\t']) {
        return Err(NoteError::BadKeyName(name.to_owned()));
    }
    Ok(())
}

/// C2SP key id: the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key), big-endian.
pub fn key_id(name: &str, public: &VerifyingKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ED25519_ALG]);
    h.update(public.as_bytes());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A named Ed25519 note verifier, as written `<name>+<hex key id>+<base64(0x01 || key)>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    pub name: String,
    pub key_id: u32,
    pub key: VerifyingKey,
}

impl NoteVerifier {
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, &key),
            key,
        })
    }

    pub fn parse(text: &str) -> Result<Self, NoteError> {
        // The base64 key may itself contain '+': split off name and id only.
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::BadVerifierKey("want <name>+<key id>+<key>"));
        };
        check_name(name)?;
        let id = u32::from_str_radix(id, 16)
            .ok()
            .filter(|_| id.len() == 8)
            .ok_or(NoteError::BadVerifierKey("key id is not 8 hex digits"))?;
        let raw = B64
            .decode(key)
            .map_err(|_| NoteError::BadVerifierKey("key is not base64"))?;
        let [alg, rest @ ..] = raw.as_slice() else {
            return Err(NoteError::BadVerifierKey("empty key"));
        };
        if *alg != ED25519_ALG {
            return Err(NoteError::BadVerifierKey("not an Ed25519 key"));
        }
        let bytes: [u8; 32] = rest
            .try_into()
            .map_err(|_| NoteError::BadVerifierKey("Ed25519 key is not 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| NoteError::BadVerifierKey("not a valid Ed25519 point"))?;
        let v = Self::new(name, key)?;
        if v.key_id != id {
            return Err(NoteError::BadVerifierKey(
                "key id does not match name and key",
            ));
        }
        Ok(v)
    }

    /// Verifies the note's signature by this key and returns the note's text (the signed body).
    pub fn verify<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        let (body, sigs) = split_note(note)?;
        for line in sigs.lines() {
            let Some(rest) = line.strip_prefix(SIG_PREFIX) else {
                return Err(NoteError::Malformed(
                    "signature line does not start with an em dash",
                ));
            };
            let Some((name, sig)) = rest.split_once(' ') else {
                return Err(NoteError::Malformed("signature line has no space"));
            };
            let Ok(raw) = B64.decode(sig) else {
                return Err(NoteError::Malformed("signature is not base64"));
            };
            if name != self.name || raw.len() < 4 {
                continue;
            }
            let id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
            if id != self.key_id {
                continue;
            }
            let sig = ed25519_dalek::Signature::from_slice(&raw[4..]).map_err(|_| {
                NoteError::BadSignature {
                    name: self.name.clone(),
                    key_id: self.key_id,
                }
            })?;
            return self
                .key
                .verify_strict(body.as_bytes(), &sig)
                .map(|()| body)
                .map_err(|_| NoteError::BadSignature {
                    name: self.name.clone(),
                    key_id: self.key_id,
                });
        }
        Err(NoteError::NoSignature {
            name: self.name.clone(),
            key_id: self.key_id,
        })
    }
}

impl std::fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = Vec::with_capacity(33);
        raw.push(ED25519_ALG);
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.key_id, B64.encode(raw))
    }
}

/// Splits a signed note into its text (ending in a newline) and its signature lines.
fn split_note(note: &str) -> Result<(&str, &str), NoteError> {
    let Some(pos) = note.rfind("\n\n") else {
        return Err(NoteError::Malformed("no blank line before the signatures"));
    };
    let (body, sigs) = (&note[..=pos], &note[pos + 2..]);
    if !note.ends_with('\n') || sigs.is_empty() {
        return Err(NoteError::Malformed(
            "note does not end with a signature line",
        ));
    }
    Ok((body, sigs))
}

/// A named Ed25519 note signer (the institution's log key).
#[derive(Clone)]
pub struct NoteSigner {
    verifier: NoteVerifier,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("verifier", &self.verifier.to_string())
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        Ok(Self {
            verifier: NoteVerifier::new(name, key.verifying_key())?,
            key,
        })
    }

    pub fn generate(name: &str) -> Result<Self, NoteError> {
        Self::new(name, SigningKey::generate(&mut rand::rngs::OsRng))
    }

    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// The 32-byte Ed25519 secret seed. The node's libp2p identity is this same key, so that
    /// its peer id is the key the institution registered on chain; keep the copy short-lived.
    pub fn secret_seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The secret key file text, `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`.
    pub fn to_secret_text(&self) -> String {
        let mut raw = Vec::with_capacity(33);
        raw.push(ED25519_ALG);
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.verifier.name,
            self.verifier.key_id,
            B64.encode(raw)
        )
    }

    pub fn from_secret_text(text: &str) -> Result<Self, NoteError> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::BadSignerKey("does not start with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::BadSignerKey(
                "want PRIVATE+KEY+<name>+<id>+<key>",
            ));
        };
        let raw = B64
            .decode(key)
            .map_err(|_| NoteError::BadSignerKey("key is not base64"))?;
        let seed: [u8; 32] = match raw.as_slice() {
            [ED25519_ALG, rest @ ..] => rest
                .try_into()
                .map_err(|_| NoteError::BadSignerKey("Ed25519 seed is not 32 bytes"))?,
            _ => return Err(NoteError::BadSignerKey("not an Ed25519 key")),
        };
        let signer = Self::new(name, SigningKey::from_bytes(&seed))?;
        if format!("{:08x}", signer.verifier.key_id) != id {
            return Err(NoteError::BadSignerKey(
                "key id does not match name and key",
            ));
        }
        Ok(signer)
    }

    /// Signs `text` (which must end in a newline) as a signed note.
    pub fn sign(&self, text: &str) -> String {
        debug_assert!(text.ends_with('\n'));
        let sig = self.key.sign(text.as_bytes());
        let mut raw = Vec::with_capacity(68);
        raw.extend_from_slice(&self.verifier.key_id.to_be_bytes());
        raw.extend_from_slice(&sig.to_bytes());
        format!(
            "{text}\n{SIG_PREFIX}{} {}\n",
            self.verifier.name,
            B64.encode(raw)
        )
    }
}

/// A tree head as the checkpoint body states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The C2SP `tlog-checkpoint` body: `<origin>\n<size>\n<base64 root>\n`.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Parses a checkpoint body (extension lines after the root are allowed and ignored).
    pub fn parse_body(body: &str) -> Result<Self, NoteError> {
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or(NoteError::BadCheckpoint("empty origin"))?;
        let size = lines
            .next()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .filter(|s| s.len() == 1 || !s.starts_with('0'))
            .and_then(|s| s.parse().ok())
            .ok_or(NoteError::BadCheckpoint("size is not a decimal number"))?;
        let root = lines
            .next()
            .and_then(|r| B64.decode(r).ok())
            .and_then(|r| <[u8; 32]>::try_from(r).ok())
            .ok_or(NoteError::BadCheckpoint("root is not base64 of 32 bytes"))?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
        })
    }

    /// Verifies a signed checkpoint note with `verifier` and parses its body.
    pub fn open_signed(note: &str, verifier: &NoteVerifier) -> Result<Self, NoteError> {
        Self::parse_body(verifier.verify(note)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_roundtrip_and_tamper() {
        let s = NoteSigner::new("example.com/log", SigningKey::from_bytes(&[3; 32])).expect("name");
        // Many keys' base64 contains '+'; the text forms must still parse.
        for seed in 0..64u8 {
            let k = NoteSigner::new("n", SigningKey::from_bytes(&[seed; 32])).expect("name");
            assert_eq!(
                NoteVerifier::parse(&k.verifier().to_string()).as_ref(),
                Ok(k.verifier())
            );
            let back = NoteSigner::from_secret_text(&k.to_secret_text()).expect("secret");
            assert_eq!(back.verifier(), k.verifier());
        }
        let cp = Checkpoint {
            origin: "example.com/log".into(),
            size: 42,
            root: [9; 32],
        };
        let note = s.sign(&cp.body());
        let v = NoteVerifier::parse(&s.verifier().to_string()).expect("verifier text");
        assert_eq!(Checkpoint::open_signed(&note, &v).expect("valid"), cp);
        let tampered = note.replacen("42", "43", 1);
        assert!(matches!(
            v.verify(&tampered),
            Err(NoteError::BadSignature { .. })
        ));
        let other =
            NoteSigner::new("example.com/log", SigningKey::from_bytes(&[4; 32])).expect("name");
        assert!(matches!(
            other.verifier().verify(&note),
            Err(NoteError::NoSignature { .. })
        ));
        let again = NoteSigner::from_secret_text(&s.to_secret_text()).expect("secret text");
        assert_eq!(again.verifier(), s.verifier());
    }

    #[test]
    fn verifies_a_go_sumdb_note() {
        // The example from golang.org/x/mod/sumdb/note documentation.
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let note = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        let v = NoteVerifier::parse(vkey).expect("verifier");
        assert_eq!(
            v.verify(note).expect("valid signature"),
            "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
        );
    }

    #[test]
    fn checkpoint_body_rejects_garbage() {
        assert!(Checkpoint::parse_body("o\n012\nAAAA\n").is_err());
        assert!(Checkpoint::parse_body("o\n12\nAAAA\n").is_err());
        assert!(Checkpoint::parse_body("\n12\n").is_err());
    }
}
