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

import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = process.argv.slice(2);
const asJson = args.includes("--json");
const hfIndex = args.indexOf("--hardfork");
const hardfork = hfIndex >= 0 ? args[hfIndex + 1] : undefined;

function bin(tool) {
  return execFileSync("bash", [path.join(repoRoot, "scripts/contracts/foundry-bin.sh"), tool], {
    encoding: "utf8",
  }).trim();
}

// ---- RFC 9162 over identical leaves ----

const sha256 = (...parts) => createHash("sha256").update(Buffer.concat(parts)).digest();
const LEAF = sha256(Buffer.from([0]), Buffer.from("record"));
const perfect = [LEAF];
for (let k = 1; k < 64; k++) perfect.push(sha256(Buffer.from([1]), perfect[k - 1], perfect[k - 1]));

function split(n) {
  let k = 1n;
  while (k << 1n < n) k <<= 1n;
  return k;
}
function mth(n) {
  if ((n & (n - 1n)) === 0n) return perfect[n.toString(2).length - 1];
  const k = split(n);
  return sha256(Buffer.from([1]), mth(k), mth(n - k));
}
// SUBPROOF(m, D[n], b) for a uniform tree: a subtree's hash depends only on its size.
function subproof(m, n, complete) {
  if (m === n) return complete ? [] : [mth(n)];
  const k = split(n);
  if (m <= k) return [...subproof(m, k, complete), mth(n - k)];
  return [...subproof(m - k, n - k, false), mth(k)];
}

// ---- anvil ----

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function rpc(url, method, params = []) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = await res.json();
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const anvilArgs = ["--port", String(port), "--host", "127.0.0.1", "--silent", "--accounts", "20"];
if (hardfork) anvilArgs.push("--hardfork", hardfork);
const anvil = spawn(bin("anvil"), anvilArgs, { stdio: ["ignore", "ignore", "inherit"] });
const stop = () => {
  if (anvil.exitCode === null) anvil.kill("SIGTERM");
};
process.on("exit", stop);

try {
  let ready = false;
  for (let i = 0; i < 100 && !ready; i++) {
    try {
      await rpc(url, "eth_chainId");
      ready = true;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  if (!ready) throw new Error("anvil did not answer");

  const cast = bin("cast");
  const accounts = await rpc(url, "eth_accounts");
  const governor = accounts[0];
  const artifact = JSON.parse(fs.readFileSync(path.join(repoRoot, "contracts/out/HealthLedger.json"), "utf8"));

  const send = async (from, to, data) => {
    const tx = { from, data };
    if (to) tx.to = to;
    const hash = await rpc(url, "eth_sendTransaction", [tx]);
    let receipt = null;
    for (let i = 0; i < 200 && receipt === null; i++) {
      receipt = await rpc(url, "eth_getTransactionReceipt", [hash]);
      if (receipt === null) await new Promise((r) => setTimeout(r, 10));
    }
    if (receipt === null) throw new Error(`no receipt for ${hash}`);
    if (receipt.status !== "0x1") throw new Error(`transaction ${hash} reverted`);
    return receipt;
  };
  const calldata = (sig, ...a) => execFileSync(cast, ["calldata", sig, ...a], { encoding: "utf8" }).trim();

  const ctorArg = governor.slice(2).toLowerCase().padStart(64, "0");
  const deployed = await send(governor, null, artifact.bytecode + ctorArg);
  const contract = deployed.contractAddress;

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
    await send(
      governor,
      contract,
      calldata(
        "registerInstitution(address,bytes32,string,string)",
        member,
        `0x${sha256(Buffer.from(`key ${i}`)).toString("hex")}`,
        `gas-${i}.example.cn/log`,
        `Member ${i}`,
      ),
    );
    return member;
  };
  const anchorCall = (m, n) => {
    const proof = m === 0n ? [] : subproof(m, n, true).map((h) => `0x${h.toString("hex")}`);
    const data = calldata("anchor(uint64,bytes32,bytes32[])", n.toString(), `0x${mth(n).toString("hex")}`, `[${proof.join(",")}]`);
    return { data, proofHashes: proof.length };
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

  const node = await rpc(url, "web3_clientVersion");
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
  stop();
}
