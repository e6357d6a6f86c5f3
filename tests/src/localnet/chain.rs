//! The chain side of a local consortium: the contract deployed and members admitted through
//! the `healthledger` CLI, and what tests read from the chain over plain JSON-RPC.

use std::path::Path;

use alloy::primitives::{Address, B256};
use alloy::sol_types::{SolCall, SolEvent};
use hl_contracts::HealthLedger;
use reqwest::blocking::Client;
use serde_json::{Value, json};

use super::cli::Cli;
use super::error::{Error, Result};
use super::http;

/// What a member account gets to pay for its anchors and relayed consents: 100 ETH.
pub const FUNDS_WEI: &str = "0x56BC75E2D63100000";

/// JSON-RPC to one chain endpoint.
pub struct Rpc {
    pub url: String,
    client: Client,
}

/// One `EmergencyAccess(pseudonym, member, reasonHash)` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyAccess {
    pub member: Address,
    pub reason_hash: B256,
    pub block: u64,
    pub tx_hash: String,
}

impl Rpc {
    pub fn new(url: &str) -> Result<Self> {
        Ok(Self {
            url: url.to_owned(),
            client: http::client()?,
        })
    }

    /// `method(params)`; the result, or the node's error.
    pub fn call(&self, method: &str, params: Value) -> Result<Value> {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let v: Value = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .and_then(|r| r.json())
            .map_err(|e| Error::Chain(format!("{method}: {e}")))?;
        if let Some(e) = v.get("error") {
            return Err(Error::Chain(format!("{method}: {e}")));
        }
        Ok(v.get("result").cloned().unwrap_or(Value::Null))
    }

    /// Gives `account` [`FUNDS_WEI`] (anvil only).
    pub fn fund(&self, account: &str) -> Result<()> {
        self.call("anvil_setBalance", json!([account, FUNDS_WEI]))
            .map(|_| ())
    }

    /// (size, root hex) of the latest head `contract` holds for `member`.
    pub fn latest_head(&self, contract: &str, member: &str) -> Result<(u64, String)> {
        let member: Address = member
            .parse()
            .map_err(|e| Error::Chain(format!("member address '{member}': {e}")))?;
        let data = HealthLedger::latestHeadCall { member }.abi_encode();
        let out = self.call(
            "eth_call",
            json!([{ "to": contract, "data": format!("0x{}", hex::encode(data)) }, "latest"]),
        )?;
        let bytes =
            hex_bytes(&out).ok_or_else(|| Error::Chain(format!("latestHead answered {out}")))?;
        let h = HealthLedger::latestHeadCall::abi_decode_returns(&bytes)
            .map_err(|e| Error::Chain(format!("latestHead: {e}")))?;
        Ok((h.size, hex::encode(h.root.0)))
    }

    /// Every `EmergencyAccess` event of `contract` for `pseudonym` (64 hex), oldest first.
    pub fn emergency_accesses(
        &self,
        contract: &str,
        pseudonym: &str,
    ) -> Result<Vec<EmergencyAccess>> {
        let topic0 = format!(
            "0x{}",
            hex::encode(HealthLedger::EmergencyAccess::SIGNATURE_HASH)
        );
        let logs = self.call(
            "eth_getLogs",
            json!([{ "fromBlock": "0x0", "toBlock": "latest", "address": contract,
                "topics": [topic0, format!("0x{}", pseudonym.trim_start_matches("0x"))] }]),
        )?;
        let logs = logs
            .as_array()
            .ok_or_else(|| Error::Chain(format!("eth_getLogs answered {logs}")))?;
        logs.iter().map(emergency_access).collect()
    }
}

fn emergency_access(log: &Value) -> Result<EmergencyAccess> {
    let bad = || Error::Chain(format!("malformed EmergencyAccess log: {log}"));
    let member = log["topics"]
        .get(2)
        .and_then(hex_bytes)
        .filter(|t| t.len() == 32)
        .map(|t| Address::from_slice(&t[12..]))
        .ok_or_else(bad)?;
    let reason_hash = hex_bytes(&log["data"])
        .filter(|d| d.len() == 32)
        .map(|d| B256::from_slice(&d))
        .ok_or_else(bad)?;
    let block = log["blockNumber"]
        .as_str()
        .and_then(|b| u64::from_str_radix(b.trim_start_matches("0x"), 16).ok())
        .ok_or_else(bad)?;
    Ok(EmergencyAccess {
        member,
        reason_hash,
        block,
        tx_hash: log["transactionHash"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    })
}

fn hex_bytes(v: &Value) -> Option<Vec<u8>> {
    hex::decode(v.as_str()?.trim_start_matches("0x")).ok()
}

/// Deploys the HealthLedger contract with `governor_key` (a file holding the key's hex);
/// returns the contract's address.
pub fn deploy(cli: &Cli, rpc: &str, governor_key: &Path) -> Result<String> {
    let gk = path_str(governor_key)?;
    let contract = cli.ok(&["chain", "deploy", "--rpc", rpc, "--governor-key", gk])?;
    if contract.parse::<Address>().is_err() {
        return Err(Error::unexpected(format!(
            "`chain deploy` printed '{contract}', not a contract address"
        )));
    }
    Ok(contract)
}

/// A member as the governor admitted it.
#[derive(Debug, Clone)]
pub struct Admitted {
    /// The institution's chain account (0x…).
    pub account: String,
    /// Its C2SP log verifier key, as registered.
    pub verifier_key: String,
}

/// Admits the institution of `cli` (a data dir set up for the chain, see [`Cli::on_chain`])
/// under `name`, with the governor key in `governor_key`.
pub fn admit(cli: &Cli, governor_key: &Path, name: &str) -> Result<Admitted> {
    let status = cli.json(&["chain", "status"])?;
    let account = status["account"]
        .as_str()
        .ok_or_else(|| Error::unexpected(format!("`chain status` names no account: {status}")))?
        .to_owned();
    let verifier_key = cli.ok(&["log", "key"])?;
    cli.ok(&[
        "chain",
        "admit",
        "--governor-key",
        path_str(governor_key)?,
        "--member",
        &account,
        "--verifier-key",
        &verifier_key,
        "--name",
        name,
    ])?;
    Ok(Admitted {
        account,
        verifier_key,
    })
}

pub(crate) fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .ok_or_else(|| Error::unexpected(format!("path {} is not UTF-8", p.display())))
}
