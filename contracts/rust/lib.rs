//! alloy bindings of `HealthLedger.sol`, generated at compile time from the committed artifact
//! `contracts/out/HealthLedger.json` (ABI and bytecode), so the Rust side can never drift from
//! what `scripts/contracts/check.sh` verifies against a fresh compile.

// The generated callers mirror the contract's functions; `grantConsentBySig` has eight
// parameters because the EIP-712 struct it verifies has them.
#![allow(clippy::too_many_arguments)]

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    HealthLedger,
    "out/HealthLedger.json"
);

/// EIP-712 consent messages a resident's wallet signs and any member relays
/// (`grantConsentBySig`, `revokeConsentBySig`).
pub mod consent {
    use alloy::primitives::Address;
    use alloy::sol_types::Eip712Domain;

    alloy::sol! {
        /// A grant of consent: `categories` is a bitmask, `expiry` a Unix time.
        #[derive(Debug, PartialEq, Eq)]
        struct Grant {
            bytes32 pseudonym;
            address grantee;
            uint256 categories;
            bytes32 purpose;
            uint64 expiry;
            uint256 nonce;
            uint256 deadline;
        }

        /// A revocation of the grant for (pseudonym, grantee, purpose).
        #[derive(Debug, PartialEq, Eq)]
        struct Revoke {
            bytes32 pseudonym;
            address grantee;
            bytes32 purpose;
            uint256 nonce;
            uint256 deadline;
        }
    }

    /// The contract's EIP-712 domain: name "HealthLedger", version "1".
    pub fn domain(chain_id: u64, contract: Address) -> Eip712Domain {
        alloy::sol_types::eip712_domain! {
            name: "HealthLedger",
            version: "1",
            chain_id: chain_id,
            verifying_contract: contract,
        }
    }
}
