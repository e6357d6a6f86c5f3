#!/usr/bin/env node
// Measures the real transaction gas of HealthLedger.anchor on anvil (cold storage, 21000 base,
// calldata included) for checkpoints with consistency proofs of various lengths.
//
// Usage: node scripts/contracts/anchor-gas.mjs [--hardfork NAME] [--json]
//
// It spawns the anvil binary of the npm platform package on a free loopback port, deploys
// contracts/out/HealthLedger.json, registers one member per case, anchors a first head of the
// old size and then the new head with its consistency proof, and prints receipt.gasUsed of the
// second anchor. Trees have identical leaves (as MerkleTree.uniform in the forge tests), which
// makes million-leaf trees instant; the verifier's work and the calldata size depend only on the
// two sizes, not on the hash values.

import { startAnvil } from "./lib/anvil.mjs";
import { anchorCall, deployHealthLedger, registerMember } from "./lib/healthledger.mjs";

const args = process.argv.slice(2);
const asJson = args.includes("--json");
const hfIndex = args.indexOf("--hardfork");
const hardfork = hfIndex >= 0 ? args[hfIndex + 1] : undefined;

const chain = await startAnvil({ hardfork, accounts: 20 });
const { rpc, send } = chain;

try {
  const accounts = await rpc("eth_accounts");
  const governor = accounts[0];
  const contract = await deployHealthLedger(chain, governor);

  const cases = [
    [1024n, 2048n],
    [100n, 200n],
    [1_500_000n, 1_600_000n],
    [1_000_004n, 1_100_004n],
    [1_000_001n, 1_100_001n],
  ];
  let members = 0;
  const register = async () => {
    const i = members++;
    const member = accounts[1 + i];
    await registerMember(chain, contract, governor, member, i);
    return member;
  };

  // Each case is measured twice: as a member's 2nd anchor (odd index: it also completes a
  // packed size/timestamp pair, one more fresh storage slot) and as its 3rd (even index).
  const results = [];
  let firstAnchorGas;
  for (const [m, n] of cases) {
    const odd = await register();
    const first = await send(odd, contract, anchorCall(0n, m).data);
    firstAnchorGas ??= Number(BigInt(first.gasUsed));
    const { data, proofHashes } = anchorCall(m, n);
    const oddReceipt = await send(odd, contract, data);

    const even = await register();
    await send(even, contract, anchorCall(0n, m - 1n).data);
    await send(even, contract, anchorCall(m - 1n, m).data);
    const evenReceipt = await send(even, contract, data);

    const oddGas = Number(BigInt(oddReceipt.gasUsed));
    const evenGas = Number(BigInt(evenReceipt.gasUsed));
    results.push({
      oldSize: Number(m),
      newSize: Number(n),
      proofHashes,
      calldataBytes: (data.length - 2) / 2,
      gasOddIndex: oddGas,
      gasEvenIndex: evenGas,
      gasMean: (oddGas + evenGas) / 2,
      gasPerNewRecordMean: (oddGas + evenGas) / 2 / Number(n - m),
    });
  }

  const node = await rpc("web3_clientVersion");
  if (asJson) {
    process.stdout.write(
      `${JSON.stringify({ client: node, hardfork: hardfork ?? "anvil default", firstAnchorGas, results }, null, 2)}\n`,
    );
  } else {
    console.log(`HealthLedger.anchor on ${node} (hardfork: ${hardfork ?? "anvil default"}): receipt gasUsed per transaction`);
    console.log("(odd = the anchor also writes a packed size/timestamp pair slot; even = it does not)");
    console.log("old size -> new size   proof  calldata  gas (odd)  gas (even)  mean gas/new record");
    for (const r of results) {
      console.log(
        `${String(r.oldSize).padStart(9)} -> ${String(r.newSize).padEnd(9)} ${String(r.proofHashes).padStart(5)}  ` +
          `${String(r.calldataBytes).padStart(8)}  ${String(r.gasOddIndex).padStart(9)}  ${String(r.gasEvenIndex).padStart(10)}  ` +
          `${r.gasPerNewRecordMean.toFixed(3).padStart(19)}`,
      );
    }
    console.log(`first anchor of a member (no proof): ${firstAnchorGas} gas`);
  }
} finally {
  chain.stop();
}
