// Shared by the contract benchmarks (anchor-gas.mjs, gas-bench.mjs): the foundry binaries of the
// npm platform packages, a JSON-RPC client, and an anvil chain spawned on a free loopback port
// that is stopped when the process exits, fails or is interrupted.

import { execFileSync, spawn } from "node:child_process";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** Path of a foundry tool (forge, cast, anvil) from its npm platform package. */
export function foundryBin(tool) {
  return execFileSync("bash", [path.join(repoRoot, "scripts/contracts/foundry-bin.sh"), tool], {
    encoding: "utf8",
  }).trim();
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

/** One JSON-RPC call; throws on a transport error or a JSON-RPC error object. */
export async function rpcCall(url, method, params = []) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = await res.json();
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

/**
 * Spawns anvil on a free loopback port and waits until it answers.
 * Returns { url, rpc(method, params), send(from, to, data), stop() }. `send` submits an
 * eth_sendTransaction from an unlocked account (to = null deploys), waits for the receipt and
 * throws if the transaction reverted. anvil is stopped on process exit and on SIGINT, SIGTERM
 * and SIGHUP; call stop() in a `finally` as well.
 */
export async function startAnvil({ hardfork, accounts = 20 } = {}) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ["--port", String(port), "--host", "127.0.0.1", "--silent", "--accounts", String(accounts)];
  if (hardfork) args.push("--hardfork", hardfork);
  const proc = spawn(foundryBin("anvil"), args, { stdio: ["ignore", "ignore", "inherit"] });
  let failure = null;
  proc.on("error", (e) => {
    failure = `cannot run anvil: ${e.message}`;
  });
  proc.on("exit", (code, signal) => {
    failure ??= `anvil exited (${signal ?? `code ${code}`})`;
  });
  const stop = () => {
    if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) proc.kill("SIGTERM");
  };
  process.on("exit", stop);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.once(sig, () => {
      stop();
      process.exit(128 + os.constants.signals[sig]);
    });
  }

  const rpc = (method, params = []) => rpcCall(url, method, params);
  let ready = false;
  for (let i = 0; i < 100 && !ready && failure === null; i++) {
    try {
      await rpc("eth_chainId");
      ready = true;
    } catch {
      await sleep(50);
    }
  }
  if (!ready) {
    stop();
    throw new Error(failure ?? "anvil did not answer");
  }

  const send = async (from, to, data) => {
    const tx = { from, data };
    if (to) tx.to = to;
    const hash = await rpc("eth_sendTransaction", [tx]);
    let receipt = null;
    for (let i = 0; i < 200 && receipt === null; i++) {
      receipt = await rpc("eth_getTransactionReceipt", [hash]);
      if (receipt === null) await sleep(10);
    }
    if (receipt === null) throw new Error(`no receipt for ${hash}`);
    if (receipt.status !== "0x1") throw new Error(`transaction ${hash} reverted`);
    return receipt;
  };

  return { url, rpc, send, stop };
}
