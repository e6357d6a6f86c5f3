//! EIP-4361 (Sign-In with Ethereum) messages: parsing the text a wallet signed, and writing it
//! back in the exact form the EIP prescribes.
//!
//! ```text
//! [scheme://]domain wants you to sign in with your Ethereum account:
//! 0xAddressInEip55
//!
//! [statement]
//!
//! URI: uri
//! Version: 1
//! Chain ID: 1
//! Nonce: nonce
//! Issued At: RFC 3339
//! [Expiration Time: RFC 3339]
//! [Not Before: RFC 3339]
//! [Request ID: text]
//! [Resources:
//! - uri
//! - uri]
//! ```

use alloy_primitives::Address;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const PREAMBLE: &str = " wants you to sign in with your Ethereum account:";

/// A parsed EIP-4361 message. Times keep the text the wallet signed, so that writing the
/// message back gives the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiweMessage {
    pub scheme: Option<String>,
    /// RFC 3986 authority (host and optional port) the wallet was asked to sign in to.
    pub domain: String,
    pub address: Address,
    pub statement: Option<String>,
    pub uri: String,
    pub version: String,
    pub chain_id: u64,
    pub nonce: String,
    pub issued_at: Stamp,
    pub expiration_time: Option<Stamp>,
    pub not_before: Option<Stamp>,
    pub request_id: Option<String>,
    pub resources: Vec<String>,
}

/// An RFC 3339 time with the text it was written as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub text: String,
    pub at: OffsetDateTime,
}

impl Stamp {
    pub fn parse(field: &str, text: &str) -> Result<Self, ParseError> {
        let at = OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|e| ParseError(format!("{field} '{text}' is not an RFC 3339 time: {e}")))?;
        Ok(Self {
            text: text.to_owned(),
            at,
        })
    }
}

/// Why a message is not an EIP-4361 message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an EIP-4361 message: {0}")]
pub struct ParseError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

impl std::str::FromStr for SiweMessage {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, ParseError> {
        // Wallets sign exactly what they were given; tolerate only CRLF line ends.
        let normalized = text.replace("\r\n", "\n");
        let mut lines = normalized.split('\n').peekable();
        let first = lines.next().unwrap_or_default();
        let Some(origin) = first.strip_suffix(PREAMBLE) else {
            return err(format!(
                "the first line must be '<domain>{PREAMBLE}', found '{first}'"
            ));
        };
        let (scheme, domain) = match origin.split_once("://") {
            Some((s, d)) => (Some(s.to_owned()), d.to_owned()),
            None => (None, origin.to_owned()),
        };
        if domain.is_empty() || domain.contains(char::is_whitespace) || domain.contains('/') {
            return err(format!("domain '{domain}' is not a host[:port]"));
        }
        if let Some(s) = &scheme
            && (s.is_empty()
                || !s
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)))
        {
            return err(format!("scheme '{s}' is not a URI scheme"));
        }
        let addr_line = lines.next().unwrap_or_default();
        let address = Address::parse_checksummed(addr_line, None).map_err(|_| {
            ParseError(format!(
                "the second line must be the address in EIP-55 mixed case, found '{addr_line}'"
            ))
        })?;
        if lines.next() != Some("") {
            return err("an empty line must follow the address");
        }
        // Optional statement, surrounded by empty lines.
        let mut statement = None;
        if let Some(line) = lines.peek().copied()
            && !line.is_empty()
            && !line.starts_with("URI: ")
        {
            statement = Some(line.to_owned());
            lines.next();
        }
        if (statement.is_some() || lines.peek() == Some(&"")) && lines.next() != Some("") {
            return err("an empty line must follow the statement");
        }
        let mut field = |name: &str| -> Result<String, ParseError> {
            let line = lines.next().unwrap_or_default();
            line.strip_prefix(name)
                .and_then(|l| l.strip_prefix(": "))
                .map(str::to_owned)
                .ok_or_else(|| ParseError(format!("expected '{name}: …', found '{line}'")))
        };
        let uri = field("URI")?;
        let version = field("Version")?;
        if version != "1" {
            return err(format!("Version must be 1, found '{version}'"));
        }
        let chain_text = field("Chain ID")?;
        let chain_id = chain_text
            .parse()
            .map_err(|_| ParseError(format!("Chain ID '{chain_text}' is not a number")))?;
        let nonce = field("Nonce")?;
        if nonce.len() < 8 || !nonce.chars().all(|c| c.is_ascii_alphanumeric()) {
            return err(format!(
                "Nonce '{nonce}' must be at least 8 letters or digits"
            ));
        }
        let issued_at = Stamp::parse("Issued At", &field("Issued At")?)?;
        let mut msg = SiweMessage {
            scheme,
            domain,
            address,
            statement,
            uri,
            version,
            chain_id,
            nonce,
            issued_at,
            expiration_time: None,
            not_before: None,
            request_id: None,
            resources: Vec::new(),
        };
        let mut rest: Vec<&str> = lines.collect();
        // One trailing newline is harmless; anything more is not the message we know.
        if rest.last() == Some(&"") {
            rest.pop();
        }
        let mut rest = rest.into_iter().peekable();
        let mut take = |name: &str| -> Option<String> {
            let line = rest.peek()?;
            let v = line.strip_prefix(name)?.strip_prefix(": ")?.to_owned();
            rest.next();
            Some(v)
        };
        if let Some(t) = take("Expiration Time") {
            msg.expiration_time = Some(Stamp::parse("Expiration Time", &t)?);
        }
        if let Some(t) = take("Not Before") {
            msg.not_before = Some(Stamp::parse("Not Before", &t)?);
        }
        msg.request_id = take("Request ID");
        if rest.peek() == Some(&"Resources:") {
            rest.next();
            for line in rest.by_ref() {
                match line.strip_prefix("- ") {
                    Some(r) if !r.is_empty() && !r.contains(char::is_whitespace) => {
                        msg.resources.push(r.to_owned())
                    }
                    _ => return err(format!("resource line '{line}' is not '- <URI>'")),
                }
            }
        }
        if let Some(line) = rest.next() {
            return err(format!("unexpected line '{line}'"));
        }
        if msg.uri.is_empty() || msg.uri.contains(char::is_whitespace) {
            return err(format!("URI '{}' is not a URI", msg.uri));
        }
        Ok(msg)
    }
}

impl std::fmt::Display for SiweMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(s) = &self.scheme {
            write!(f, "{s}://")?;
        }
        writeln!(f, "{}{PREAMBLE}", self.domain)?;
        writeln!(f, "{}", self.address.to_checksum(None))?;
        writeln!(f)?;
        if let Some(s) = &self.statement {
            writeln!(f, "{s}")?;
        }
        writeln!(f)?;
        writeln!(f, "URI: {}", self.uri)?;
        writeln!(f, "Version: {}", self.version)?;
        writeln!(f, "Chain ID: {}", self.chain_id)?;
        writeln!(f, "Nonce: {}", self.nonce)?;
        write!(f, "Issued At: {}", self.issued_at.text)?;
        if let Some(t) = &self.expiration_time {
            write!(f, "\nExpiration Time: {}", t.text)?;
        }
        if let Some(t) = &self.not_before {
            write!(f, "\nNot Before: {}", t.text)?;
        }
        if let Some(r) = &self.request_id {
            write!(f, "\nRequest ID: {r}")?;
        }
        if !self.resources.is_empty() {
            write!(f, "\nResources:")?;
            for r in &self.resources {
                write!(f, "\n- {r}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

    fn example() -> String {
        format!(
            "https://example.com:8443 wants you to sign in with your Ethereum account:\n{ADDR}\n\nSign in to HealthLedger.\n\nURI: https://example.com:8443/v1/auth/siwe\nVersion: 1\nChain ID: 1337042\nNonce: 32891756abcdef\nIssued At: 2021-09-30T16:25:24Z\nExpiration Time: 2021-09-30T16:40:24.000Z\nResources:\n- urn:healthledger:resident:{}\n- https://example.com/fhir/Patient/p1",
            "ab".repeat(32)
        )
    }

    #[test]
    fn parses_every_field_and_writes_the_same_text() {
        let text = example();
        let m: SiweMessage = text.parse().expect("parse");
        assert_eq!(m.scheme.as_deref(), Some("https"));
        assert_eq!(m.domain, "example.com:8443");
        assert_eq!(m.address.to_checksum(None), ADDR);
        assert_eq!(m.statement.as_deref(), Some("Sign in to HealthLedger."));
        assert_eq!(m.chain_id, 1_337_042);
        assert_eq!(m.nonce, "32891756abcdef");
        assert_eq!(m.issued_at.at.unix_timestamp(), 1_633_019_124);
        assert!(m.expiration_time.is_some() && m.not_before.is_none());
        assert_eq!(m.resources.len(), 2);
        assert_eq!(m.to_string(), text);
    }

    #[test]
    fn without_statement_and_optional_fields() {
        let text = format!(
            "example.com wants you to sign in with your Ethereum account:\n{ADDR}\n\n\nURI: https://example.com\nVersion: 1\nChain ID: 1\nNonce: abcdefgh1\nIssued At: 2021-09-30T16:25:24+08:00"
        );
        let m: SiweMessage = text.parse().expect("parse");
        assert_eq!((m.scheme.as_deref(), m.statement.as_deref()), (None, None));
        assert_eq!(m.to_string(), text);
    }

    #[test]
    fn refuses_malformed_messages_naming_the_problem() {
        let good = example();
        let cases = [
            (good.replace(" wants you", " want you"), "first line"),
            (good.replace(ADDR, &ADDR.to_lowercase()), "EIP-55"),
            (
                good.replace("Version: 1", "Version: 2"),
                "Version must be 1",
            ),
            (good.replace("Chain ID: 1337042", "Chain ID: x"), "Chain ID"),
            (good.replace("Nonce: 32891756abcdef", "Nonce: abc"), "Nonce"),
            (
                good.replace("2021-09-30T16:25:24Z", "yesterday"),
                "Issued At",
            ),
            (good.replace("- https", "* https"), "resource line"),
            (format!("{good}\nextra"), "resource line"),
            (good.replace("URI: ", "Uri: "), "expected 'URI"),
            ("".to_owned(), "first line"),
        ];
        for (text, want) in cases {
            let e = text.parse::<SiweMessage>().expect_err(&text);
            assert!(e.0.contains(want), "{want}: got {e}");
        }
    }

    mod roundtrip {
        use super::*;
        use proptest::prelude::*;

        fn stamp(secs: i64) -> Stamp {
            let at = OffsetDateTime::from_unix_timestamp(secs).expect("time");
            Stamp {
                text: at.format(&Rfc3339).expect("format"),
                at,
            }
        }

        proptest! {
            #[test]
            fn written_messages_parse_back(
                scheme in proptest::option::of("[a-z][a-z0-9+.-]{0,6}"),
                domain in "[a-z0-9.-]{1,20}(:[0-9]{1,5})?",
                addr in any::<[u8; 20]>(),
                statement in proptest::option::of("[A-Za-z0-9 .,!?']{1,40}"),
                uri in "https://[a-z.]{1,10}/[a-z/]{0,10}",
                chain_id in any::<u64>(),
                nonce in "[a-zA-Z0-9]{8,20}",
                issued in 0i64..4_000_000_000,
                exp in proptest::option::of(0i64..4_000_000_000),
                nbf in proptest::option::of(0i64..4_000_000_000),
                request_id in proptest::option::of("[a-z0-9-]{1,12}"),
                resources in proptest::collection::vec("[a-z]{1,5}:[a-zA-Z0-9/:]{1,20}", 0..4),
            ) {
                // A statement that starts or ends with blanks or starts with "URI: " is not
                // one a wallet is shown; EIP-4361 statements are one trimmed line.
                let statement = statement.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
                let m = SiweMessage {
                    scheme, domain, address: Address::from(addr), statement, uri,
                    version: "1".into(), chain_id, nonce, issued_at: stamp(issued),
                    expiration_time: exp.map(stamp), not_before: nbf.map(stamp),
                    request_id, resources,
                };
                let text = m.to_string();
                let back: SiweMessage = text.parse().map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
                prop_assert_eq!(back, m);
            }
        }
    }
}
