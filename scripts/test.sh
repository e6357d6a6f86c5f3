#!/usr/bin/env bash
# The project's whole test command: formatting, lints, and every test of the workspace.
# CI runs exactly this (see .ci/run). Needs the Rust toolchain, Node.js with npm and Python 3.9+
# with venv; the pinned npm packages (solc-js, forge, anvil) are installed by the contract
# scripts with `npm ci`, the pinned Python tools (fhir.resources, schemathesis) by
# scripts/python/env.sh into target/pyenv.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== contracts: artifacts match a fresh compile, forge tests"
bash scripts/contracts/test.sh

echo "== python test tools (pinned; installed once)"
# The API conformance tests (node/tests/api_conformance.rs) run the interpreter named here.
HL_PYTHON="$(bash scripts/python/env.sh)"
export HL_PYTHON

echo "== cargo test"
cargo test --workspace --locked
