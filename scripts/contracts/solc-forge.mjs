#!/usr/bin/env node
// A stand-in for the native `solc` binary that forge runs (contracts/foundry.toml: solc = ...),
// backed by the pinned solc-js (WASM) from npm. No native solc exists on the project's
// machines and forge cannot download one offline; forge only needs these two calls:
//   solc-forge.mjs --version
//   solc-forge.mjs --standard-json [--base-path DIR] [--include-path DIR]... [--allow-paths ...]
//     (standard-JSON input on stdin, output on stdout)
// Sources normally arrive inline in the JSON; file imports, if solc asks, are read from the
// base and include paths.

import { createRequire } from "node:module";
import * as fs from "node:fs";
import * as path from "node:path";

const require = createRequire(import.meta.url);
const solc = require("solc");

const args = process.argv.slice(2);

if (args.includes("--version")) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  process.exit(0);
}

if (!args.includes("--standard-json")) {
  process.stderr.write(
    `solc-forge.mjs: only --version and --standard-json are supported (got: ${args.join(" ")})\n`,
  );
  process.exit(2);
}

const roots = [];
for (let i = 0; i < args.length; i++) {
  if ((args[i] === "--base-path" || args[i] === "--include-path") && i + 1 < args.length) {
    roots.push(path.resolve(args[++i]));
  }
}
if (roots.length === 0) roots.push(process.cwd());

function findImports(importPath) {
  const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((r) => path.join(r, importPath));
  for (const candidate of candidates) {
    try {
      return { contents: fs.readFileSync(candidate, "utf8") };
    } catch {
      // try the next root
    }
  }
  return { error: `File not found: ${importPath}` };
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = Buffer.concat(chunks).toString("utf8");

process.stdout.write(solc.compile(input, { import: findImports }));
