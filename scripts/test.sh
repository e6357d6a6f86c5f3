#!/usr/bin/env bash
# The project's whole test command: formatting, lints, and every test of the workspace.
# CI runs exactly this (see .ci/run). Needs the Rust toolchain and Node.js with npm; the pinned
# npm packages (solc-js, forge, anvil) are installed by the contract scripts with `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== contracts: artifacts match a fresh compile, forge tests"
bash scripts/contracts/test.sh

echo "== cargo test"
cargo test --workspace --locked
