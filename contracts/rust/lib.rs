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
