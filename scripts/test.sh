#!/usr/bin/env bash
# The project's whole test command: formatting, lints, and every test of the workspace.
# CI runs exactly this (see .ci/run). Needs only the Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked
