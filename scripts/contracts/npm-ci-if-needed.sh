#!/usr/bin/env bash
# Runs `npm ci` when node_modules is missing, was installed from another package-lock.json, or
# lacks one of the tools the contract scripts use. Records the lockfile's hash after a
# successful install so that later runs skip it.
set -euo pipefail
cd "$(dirname "$0")/../.."

stamp="node_modules/.healthledger-lock.sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
forge="$(bash scripts/contracts/foundry-bin.sh forge 2>/dev/null || true)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -f node_modules/solc/package.json \
      && -n "$forge" && -x "$forge" ]]; then
  exit 0
fi

echo "npm ci (node_modules missing or stale)" >&2
npm ci --no-audit --no-fund >&2
echo "$want" > "$stamp"
