//! alloy bindings of `HealthLedger.sol`, generated at compile time from the committed artifact
//! `contracts/out/HealthLedger.json` (ABI and bytecode), so the Rust side can never drift from
//! what `scripts/contracts/check.sh` verifies against a fresh compile.

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    HealthLedger,
    "out/HealthLedger.json"
);
