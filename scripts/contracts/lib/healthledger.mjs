// Deploying HealthLedger (contracts/out/HealthLedger.json), registering members and building
// `anchor` calldata for uniform trees, on a chain from ./anvil.mjs. Calldata is encoded by cast.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { foundryBin, repoRoot } from "./anvil.mjs";
import { consistencyProof, mth, sha256 } from "./uniform-tree.mjs";

export const hex = (buf) => `0x${buf.toString("hex")}`;

let castPath;
/** `cast calldata SIG ARGS...` */
export function calldata(sig, ...args) {
  castPath ??= foundryBin("cast");
  return execFileSync(castPath, ["calldata", sig, ...args], { encoding: "utf8" }).trim();
}

export function readHealthLedgerArtifact() {
  return JSON.parse(fs.readFileSync(path.join(repoRoot, "contracts/out/HealthLedger.json"), "utf8"));
}

/** Deploys HealthLedger with `governor` as governor; returns its address. */
export async function deployHealthLedger(chain, governor, artifact = readHealthLedgerArtifact()) {
  const ctorArg = governor.slice(2).toLowerCase().padStart(64, "0");
  const receipt = await chain.send(governor, null, artifact.bytecode + ctorArg);
  return receipt.contractAddress;
}

/** Registers `member` as institution number `i` (unique key, origin and name derived from i). */
export async function registerMember(chain, contract, governor, member, i) {
  await chain.send(
    governor,
    contract,
    calldata(
      "registerInstitution(address,bytes32,string,string)",
      member,
      hex(sha256(Buffer.from(`key ${i}`))),
      `gas-${i}.example.cn/log`,
      `Member ${i}`,
    ),
  );
}

/** Calldata of anchor(n, MTH(n), proof from m) for uniform trees (m = 0n: first anchor). */
export function anchorCall(m, n) {
  const proof = consistencyProof(m, n).map(hex);
  const data = calldata("anchor(uint64,bytes32,bytes32[])", n.toString(), hex(mth(n)), `[${proof.join(",")}]`);
  return { data, proofHashes: proof.length };
}
