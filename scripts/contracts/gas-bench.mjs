#!/usr/bin/env node
// Gas benchmark of anchoring vs the naive one-transaction-per-record design, on ONE anvil chain
// in ONE run (BENCHMARKS.md, "Contract and anchoring"). Not part of the test command.
//
// Usage: node scripts/contracts/gas-bench.mjs [--json]
//
// 1. HealthLedger.anchor (contracts/out/HealthLedger.json): receipt.gasUsed (21000 base, calldata
//    and the on-chain RFC 9162 consistency check included) of a checkpoint adding 1, 100, 10,000,
//    100,000 and 1,000,000 records to a member's log that already holds 1,000,000 records (an
//    established member) or 1,000 records (a young log). The contract packs the sizes and
//    timestamps of heads 2k and 2k+1 into one slot written by head 2k+1, so a member's anchors
//    alternate between "dearer" (odd head index: one more fresh slot) and "cheaper" (even
//    index). Each checkpoint is measured both ways, by a fresh member whose measured anchor is
//    its 2nd (dearer) or 3rd (cheaper) head; the gas depends on the index only through its
//    parity. Trees are uniform (identical leaves, lib/uniform-tree.mjs): the verifier's work and
//    the calldata size depend only on the two sizes.
// 2. The naive design, contracts/bench/NaiveRecordRegistry.sol (compiled here with the solc-js
//    version and settings recorded in contracts/out/HealthLedger.json, i.e. build.mjs's; no
//    artifact is written): record(bytes32) stores one hash in a fresh slot per transaction.
//    One warm-up transaction (it also takes the counter from zero to one) is excluded; the mean
//    is over the next 200 transactions.
// 3. The ratio naive gas per record / anchored gas per record (mean of cheaper and dearer), and
//    whether "≤ 1 gas per record at 100,000-record checkpoints, consistency check included" holds
//    for the dearer anchor (hence for both) at every previous size.
//
// anvil is spawned on a free loopback port and stopped on exit, on error and on SIGINT/SIGTERM;
// any failure exits non-zero.

import { createRequire } from "node:module";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot, startAnvil } from "./lib/anvil.mjs";
import { anchorCall, calldata, deployHealthLedger, hex, readHealthLedgerArtifact, registerMember } from "./lib/healthledger.mjs";
import { mth, sha256 } from "./lib/uniform-tree.mjs";

const PREVIOUS_SIZES = [1_000_000n, 1_000n];
const NEW_RECORDS = [1n, 100n, 10_000n, 100_000n, 1_000_000n];
const TARGET_NEW_RECORDS = 100_000n;
const TARGET_GAS_PER_RECORD = 1;
const NAIVE_TXS = 200;

const args = process.argv.slice(2);
if (args.some((a) => a !== "--json")) {
  process.stderr.write("usage: node scripts/contracts/gas-bench.mjs [--json]\n");
  process.exit(2);
}
const asJson = args.includes("--json");

// ---- compile the naive registry exactly as build.mjs compiles contracts/src ----

function compileNaive(artifact) {
  const require = createRequire(import.meta.url);
  const solc = require("solc");
  if (solc.version() !== artifact.compiler.version) {
    throw new Error(`solc-js ${solc.version()} is installed, contracts/out/ was built with ${artifact.compiler.version}; run npm ci`);
  }
  const unit = "bench/NaiveRecordRegistry.sol";
  const input = {
    language: "Solidity",
    sources: { [unit]: { content: fs.readFileSync(path.join(repoRoot, "contracts", unit), "utf8") } },
    settings: {
      ...artifact.settings,
      outputSelection: { "*": { "*": ["evm.bytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors ?? []).filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(errors.map((d) => d.formattedMessage ?? d.message).join("\n"));
  const bytecode = output.contracts?.[unit]?.NaiveRecordRegistry?.evm?.bytecode?.object;
  if (!bytecode || !/^[0-9a-f]+$/.test(bytecode)) throw new Error(`no bytecode for ${unit}`);
  return { bytecode: `0x${bytecode}`, compiler: solc.version(), settings: artifact.settings };
}

// ---- helpers ----

const gasOf = (receipt) => Number(BigInt(receipt.gasUsed));
const word = (result, i) => result.slice(2 + 64 * i, 2 + 64 * (i + 1));
const fmtInt = (x) => Math.round(x).toLocaleString("en-US");
const fmtPerRecord = (x) => (x >= 1000 ? fmtInt(x) : x >= 10 ? x.toFixed(1) : x.toFixed(3));
const fmtRatio = (x) => (x >= 10 ? fmtInt(x) : x.toFixed(2));

const artifact = readHealthLedgerArtifact();
const naive = compileNaive(artifact);

const accountsNeeded = 1 + PREVIOUS_SIZES.length * NEW_RECORDS.length * 2 + 1;
const chain = await startAnvil({ accounts: accountsNeeded });
const { rpc, send } = chain;

try {
  const accounts = await rpc("eth_accounts");
  const governor = accounts[0];
  const naiveSender = accounts[accountsNeeded - 1];
  let nextMember = 0;
  const newMember = async (contract) => {
    const i = nextMember++;
    const member = accounts[1 + i];
    await registerMember(chain, contract, governor, member, i);
    return member;
  };

  // The measured anchor must have landed: latestHead(member) is (n, MTH(n), ...).
  const checkLatestHead = async (contract, member, n) => {
    const result = await rpc("eth_call", [{ to: contract, data: calldata("latestHead(address)", member) }, "latest"]);
    if (BigInt(`0x${word(result, 0)}`) !== n || `0x${word(result, 1)}` !== hex(mth(n))) {
      throw new Error(`latestHead(${member}) is not the anchored head of size ${n}: ${result}`);
    }
  };

  // ---- 1. anchoring ----
  const contract = await deployHealthLedger(chain, governor, artifact);
  const anchors = [];
  let firstAnchorGas;
  for (const prev of PREVIOUS_SIZES) {
    for (const added of NEW_RECORDS) {
      const size = prev + added;
      const { data, proofHashes } = anchorCall(prev, size);

      // Dearer: head index 1 (completes the packed size/timestamp pair of heads 0 and 1).
      const dearMember = await newMember(contract);
      const first = await send(dearMember, contract, anchorCall(0n, prev).data);
      if (prev === PREVIOUS_SIZES[0]) firstAnchorGas ??= gasOf(first);
      const dearer = gasOf(await send(dearMember, contract, data));
      await checkLatestHead(contract, dearMember, size);

      // Cheaper: head index 2 (starts a new pair; size and timestamp stay in the member's slot).
      const cheapMember = await newMember(contract);
      await send(cheapMember, contract, anchorCall(0n, prev - 1n).data);
      await send(cheapMember, contract, anchorCall(prev - 1n, prev).data);
      const cheaper = gasOf(await send(cheapMember, contract, data));
      await checkLatestHead(contract, cheapMember, size);

      const mean = (cheaper + dearer) / 2;
      anchors.push({
        previousSize: Number(prev),
        newRecords: Number(added),
        newSize: Number(size),
        proofHashes,
        calldataBytes: (data.length - 2) / 2,
        gasCheaper: cheaper,
        gasDearer: dearer,
        gasMean: mean,
        gasPerRecordMean: mean / Number(added),
        gasPerRecordDearer: dearer / Number(added),
      });
    }
  }

  // ---- 2. the naive design ----
  const registry = (await send(naiveSender, null, naive.bytecode)).contractAddress;
  const recordSelector = calldata("record(bytes32)", hex(Buffer.alloc(32))).slice(0, 10);
  const recordCall = (i) => recordSelector + sha256(Buffer.from(`record ${i}`)).toString("hex");
  const warmUpGas = gasOf(await send(naiveSender, registry, recordCall(0)));
  const naiveGas = [];
  for (let i = 1; i <= NAIVE_TXS; i++) naiveGas.push(gasOf(await send(naiveSender, registry, recordCall(i))));
  const count = BigInt(await rpc("eth_call", [{ to: registry, data: calldata("count()") }, "latest"]));
  if (count !== BigInt(NAIVE_TXS + 1)) throw new Error(`NaiveRecordRegistry.count() is ${count}, expected ${NAIVE_TXS + 1}`);
  const naiveMean = naiveGas.reduce((a, b) => a + b, 0) / naiveGas.length;
  const naiveResult = {
    transactions: NAIVE_TXS,
    gasPerRecordMean: naiveMean,
    gasMin: Math.min(...naiveGas),
    gasMax: Math.max(...naiveGas),
    warmUpGasExcluded: warmUpGas,
  };

  // ---- 3. ratios and the target ----
  for (const a of anchors) a.naiveOverAnchoredMean = naiveMean / a.gasPerRecordMean;
  const atTarget = anchors.filter((a) => BigInt(a.newRecords) === TARGET_NEW_RECORDS);
  const target = {
    statement: "≤ 1 gas per record at 100,000-record checkpoints, consistency check included",
    checkedOn: "dearer anchor (the cheaper one and the mean are lower), every previous size",
    met: atTarget.length > 0 && atTarget.every((a) => a.gasPerRecordDearer <= TARGET_GAS_PER_RECORD),
    cases: atTarget.map((a) => ({
      previousSize: a.previousSize,
      gasPerRecordDearer: a.gasPerRecordDearer,
      gasPerRecordMean: a.gasPerRecordMean,
    })),
  };

  const client = await rpc("web3_clientVersion");
  const nodeInfo = await rpc("anvil_nodeInfo");
  const chainInfo = { client, hardfork: nodeInfo.hardFork, chainId: nodeInfo.environment?.chainId };

  if (asJson) {
    process.stdout.write(
      `${JSON.stringify({ chain: chainInfo, naiveCompiler: { version: naive.compiler, settings: naive.settings }, firstAnchorGas, anchors, naive: naiveResult, target }, null, 2)}\n`,
    );
  } else {
    console.log(`One ${client} chain (hardfork ${chainInfo.hardfork}, chain id ${chainInfo.chainId}); receipt gasUsed per transaction.`);
    console.log("HealthLedger.anchor: cheaper = even head index, dearer = odd head index (also writes the packed");
    console.log("size/timestamp slot of two heads); mean = their average, i.e. the long-run cost per anchor.");
    console.log(`Naive: NaiveRecordRegistry.record(bytes32), mean of ${NAIVE_TXS} transactions = ${naiveMean.toFixed(1)} gas/record`);
    console.log(`  (min ${naiveResult.gasMin}, max ${naiveResult.gasMax}; warm-up transaction excluded: ${warmUpGas} gas).`);
    console.log("");
    console.log(
      "| previous size | new records | proof hashes | calldata bytes | gas cheaper | gas dearer | gas mean | gas/record (mean) | gas/record (dearer) | naive / anchored (mean) |",
    );
    console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const a of anchors) {
      console.log(
        `| ${fmtInt(a.previousSize)} | ${fmtInt(a.newRecords)} | ${a.proofHashes} | ${fmtInt(a.calldataBytes)} | ` +
          `${fmtInt(a.gasCheaper)} | ${fmtInt(a.gasDearer)} | ${fmtInt(a.gasMean)} | ${fmtPerRecord(a.gasPerRecordMean)} | ` +
          `${fmtPerRecord(a.gasPerRecordDearer)} | ${fmtRatio(a.naiveOverAnchoredMean)} |`,
      );
    }
    console.log("");
    console.log(`First anchor of a member (1,000,000 records, no proof): ${fmtInt(firstAnchorGas)} gas.`);
    const detail = target.cases
      .map((c) => `previous ${fmtInt(c.previousSize)}: ${c.gasPerRecordDearer.toFixed(3)} dearer, ${c.gasPerRecordMean.toFixed(3)} mean`)
      .join("; ");
    console.log(`Target ${target.statement}: ${target.met ? "MET" : "NOT MET"} (${detail}).`);
  }
} finally {
  chain.stop();
}
