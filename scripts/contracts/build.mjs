#!/usr/bin/env node
// Compiles contracts/src/*.sol with solc-js (pinned in package.json) through the standard-JSON
// interface and writes one artifact per deployable contract to contracts/out/<Name>.json:
//   {"contractName", "compiler": {"name", "version"}, "settings", "abi", "bytecode", "deployedBytecode"}
// The output is deterministic (sorted inputs, fixed settings, 2-space JSON with a trailing
// newline), so the committed artifacts can be re-checked byte for byte (scripts/contracts/check.sh).
// Deployable means a concrete `contract` (per the AST): abstract contracts, interfaces and
// libraries get no artifact. The parts HealthLedger is assembled from are never deployed on
// their own, and a library of internal functions is compiled into its callers, so its own
// (non-empty) bytecode would be an artifact nobody can use.
//
// Usage: node scripts/contracts/build.mjs [--out DIR]   (default DIR: contracts/out)
// Exit 1 on any compiler error (warnings are printed to stderr and do not fail the build).

import { createRequire } from "node:module";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const solc = require("solc");

// The exact compiler the artifacts are built with; package.json pins the same version.
const EXPECTED_SOLC = "0.8.37";

// Settings recorded in every artifact. forge uses the same ones (contracts/foundry.toml).
// viaIR is off: the contract compiles without "stack too deep" on the legacy pipeline, and the
// legacy pipeline is the one forge's coverage and gas tooling understand best.
const SETTINGS = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 200 },
  viaIR: false,
};

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const contractsDir = path.join(repoRoot, "contracts");
const srcDir = path.join(contractsDir, "src");

function fail(message) {
  process.stderr.write(`build.mjs: error: ${message}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  let out = path.join(contractsDir, "out");
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--out" && i + 1 < argv.length) {
      out = path.resolve(argv[++i]);
    } else {
      process.stderr.write("usage: node scripts/contracts/build.mjs [--out DIR]\n");
      process.exit(2);
    }
  }
  return { out };
}

const { out } = parseArgs(process.argv.slice(2));

const version = solc.version();
if (!version.startsWith(`${EXPECTED_SOLC}+`)) {
  fail(`solc-js ${version} is installed, expected ${EXPECTED_SOLC}; run npm ci`);
}

const files = fs
  .readdirSync(srcDir)
  .filter((f) => f.endsWith(".sol"))
  .sort();
if (files.length === 0) fail(`no .sol files in ${srcDir}`);

// Source unit names are relative to contracts/ ("src/HealthLedger.sol"), as forge names them.
const sources = {};
for (const f of files) {
  sources[`src/${f}`] = { content: fs.readFileSync(path.join(srcDir, f), "utf8") };
}

const input = {
  language: "Solidity",
  sources,
  settings: {
    ...SETTINGS,
    outputSelection: {
      "*": { "": ["ast"], "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] },
    },
  },
};

// Imports are resolved only inside contracts/ (contracts/src imports only its own files, which are
// all in `sources` already; no remote sources ever).
function findImports(importPath) {
  const resolved = path.resolve(contractsDir, importPath);
  if (!resolved.startsWith(contractsDir + path.sep)) {
    return { error: `import outside contracts/: ${importPath}` };
  }
  try {
    return { contents: fs.readFileSync(resolved, "utf8") };
  } catch (e) {
    return { error: `cannot read ${importPath}: ${e.message}` };
  }
}

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));

let errors = 0;
for (const diag of output.errors ?? []) {
  const text = (diag.formattedMessage ?? diag.message).trimEnd();
  if (diag.severity === "error") {
    errors++;
    process.stderr.write(`${text}\n`);
  } else {
    process.stderr.write(`${diag.severity}: ${text}\n`);
  }
}
if (errors > 0) fail(`${errors} compiler error(s)`);

// Names of the concrete contracts (not abstract, not interfaces or libraries) defined in a unit.
function deployableNames(unit) {
  const nodes = output.sources?.[unit]?.ast?.nodes;
  if (!Array.isArray(nodes)) fail(`no AST for ${unit}`);
  return new Set(
    nodes
      .filter((n) => n.nodeType === "ContractDefinition" && n.contractKind === "contract" && !n.abstract)
      .map((n) => n.name),
  );
}

const artifacts = [];
for (const unit of Object.keys(sources)) {
  const contracts = output.contracts?.[unit] ?? {};
  const deployable = deployableNames(unit);
  for (const name of Object.keys(contracts).sort()) {
    if (!deployable.has(name)) continue;
    const c = contracts[name];
    const bytecode = c.evm?.bytecode?.object;
    const deployed = c.evm?.deployedBytecode?.object;
    if (typeof bytecode !== "string" || typeof deployed !== "string" || bytecode.length === 0) {
      fail(`no bytecode for ${unit}:${name}`);
    }
    if (!/^[0-9a-f]+$/.test(bytecode) || !/^[0-9a-f]+$/.test(deployed)) {
      fail(`${unit}:${name} has unlinked or malformed bytecode`);
    }
    artifacts.push({
      file: `${name}.json`,
      json: {
        contractName: name,
        compiler: { name: "solc-js", version },
        settings: SETTINGS,
        abi: c.abi,
        bytecode: `0x${bytecode}`,
        deployedBytecode: `0x${deployed}`,
      },
    });
  }
}
if (artifacts.length === 0) fail("the sources define no deployable contract");

const seen = new Set();
for (const a of artifacts) {
  if (seen.has(a.file)) fail(`two contracts named ${a.file.slice(0, -5)}`);
  seen.add(a.file);
}

fs.mkdirSync(out, { recursive: true });
// Remove artifacts of contracts that no longer exist, so the directory mirrors the sources.
for (const f of fs.readdirSync(out)) {
  if (f.endsWith(".json") && !seen.has(f)) fs.rmSync(path.join(out, f));
}
for (const a of artifacts) {
  const dest = path.join(out, a.file);
  fs.writeFileSync(dest, `${JSON.stringify(a.json, null, 2)}\n`);
  process.stdout.write(
    `${path.relative(process.cwd(), dest) || dest}: ${a.json.contractName}, ` +
      `${(a.json.deployedBytecode.length - 2) / 2} bytes deployed (solc ${version})\n`,
  );
}
