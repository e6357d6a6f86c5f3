#!/usr/bin/env bash
# Prints the path of a foundry tool (forge, cast, anvil) from its npm platform package, e.g.
# node_modules/@foundry-rs/forge-linux-amd64/bin/forge. Exit 1 if it is not installed.
# Spawn this binary directly, not `npx forge` (a Node wrapper that does not forward every signal).
set -euo pipefail
tool="${1:?usage: foundry-bin.sh forge|cast|anvil}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) echo "foundry-bin.sh: unsupported OS $(uname -s)" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "foundry-bin.sh: unsupported CPU $(uname -m)" >&2; exit 1 ;;
esac
bin="$root/node_modules/@foundry-rs/$tool-$os-$arch/bin/$tool"
if [[ ! -x "$bin" ]]; then
  echo "foundry-bin.sh: $bin not found; run npm ci" >&2
  exit 1
fi
echo "$bin"
