#!/usr/bin/env bash
# The contracts' test command: checks the committed artifacts against a fresh compile
# (check.sh), then runs every forge test offline from contracts/. Extra arguments go to
# `forge test`, e.g. `bash scripts/contracts/test.sh --gas-report` or `... --match-test anchor`.
set -euo pipefail
cd "$(dirname "$0")/../.."

bash scripts/contracts/check.sh

forge="$(bash scripts/contracts/foundry-bin.sh forge)"
cd contracts
echo "== forge test --offline $*"
"$forge" test --offline "$@"

# The bytecode forge just tested must be the bytecode we ship (same compiler, settings and
# source paths, so even the metadata hash matches).
cd ..
node -e '
const fs = require("node:fs");
const shipped = JSON.parse(fs.readFileSync("contracts/out/HealthLedger.json", "utf8"));
const tested = JSON.parse(fs.readFileSync("contracts/forge-out/HealthLedger.sol/HealthLedger.json", "utf8"));
if (shipped.deployedBytecode !== tested.deployedBytecode.object || shipped.bytecode !== tested.bytecode.object) {
  console.error("test.sh: forge compiled HealthLedger to different bytecode than contracts/out/HealthLedger.json");
  process.exit(1);
}
console.log("test.sh: forge tested the same bytecode as contracts/out/HealthLedger.json");
'
