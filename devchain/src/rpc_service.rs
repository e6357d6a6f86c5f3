//! The Ethereum JSON-RPC subset, as a `tower::Service<RequestPacket>`: alloy's
//! `RpcClient::new(service, true)` turns it into a provider, in-process, and the HTTP server
//! feeds it the same packets.

use std::borrow::Cow;
use std::sync::Arc;
use std::task::{Context, Poll};

use alloy::eips::{BlockId, BlockNumberOrTag};
use alloy::primitives::{B256, Bytes, U64, U256};
use alloy::rpc::types::{BlockTransactions, FeeHistory, Filter, Log, TransactionRequest};
use alloy::transports::{TransportError, TransportFut};
use alloy_json_rpc::{
    ErrorPayload, RequestPacket, Response, ResponsePacket, ResponsePayload, SerializedRequest,
};
use revm::context::result::ExecutionResult;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ChainError;
use crate::executor::Chain;

/// Cheap to clone: alloy clones its transport per request.
#[derive(Clone)]
pub struct RpcService {
    chain: Arc<Chain>,
}

/// A JSON-RPC error before it is put into a response.
struct RpcError {
    code: i64,
    message: String,
    data: Option<Bytes>,
}

impl RpcError {
    fn invalid_params(msg: impl std::fmt::Display) -> Self {
        Self {
            code: -32602,
            message: format!("invalid params: {msg}"),
            data: None,
        }
    }
}

impl From<ChainError> for RpcError {
    fn from(e: ChainError) -> Self {
        match e {
            // Code 3 with the revert data is what geth and anvil answer; alloy decodes custom
            // errors from it.
            ChainError::Reverted(data) => Self {
                code: 3,
                message: "execution reverted".into(),
                data: Some(data),
            },
            ChainError::Store(_) | ChainError::Corrupt(_) => Self {
                code: -32603,
                message: e.to_string(),
                data: None,
            },
            other => Self {
                code: -32000,
                message: other.to_string(),
                data: None,
            },
        }
    }
}

impl From<serde_json::Error> for RpcError {
    fn from(e: serde_json::Error) -> Self {
        Self::invalid_params(e)
    }
}

type RpcResult = Result<Value, RpcError>;

impl RpcService {
    pub fn new(chain: Arc<Chain>) -> Self {
        Self { chain }
    }

    pub fn chain(&self) -> &Arc<Chain> {
        &self.chain
    }

    /// Answers every request of a packet (a batch gets a batch back, in order).
    pub fn handle_packet(&self, packet: RequestPacket) -> ResponsePacket {
        match packet {
            RequestPacket::Single(req) => ResponsePacket::Single(self.handle(&req)),
            RequestPacket::Batch(reqs) => {
                ResponsePacket::Batch(reqs.iter().map(|r| self.handle(r)).collect())
            }
        }
    }

    fn handle(&self, req: &SerializedRequest) -> Response {
        let params: Vec<Value> = match req.params() {
            None => Vec::new(),
            Some(raw) => match serde_json::from_str::<Value>(raw.get()) {
                Ok(Value::Array(a)) => a,
                Ok(Value::Null) => Vec::new(),
                Ok(_) | Err(_) => {
                    return response(
                        req,
                        Err(RpcError::invalid_params("params must be an array")),
                    );
                }
            },
        };
        response(req, self.dispatch(req.method(), &params))
    }

    fn dispatch(&self, method: &str, p: &[Value]) -> RpcResult {
        let chain = &self.chain;
        match method {
            "eth_chainId" => json(U64::from(chain.chain_id())),
            "net_version" => json(chain.chain_id().to_string()),
            "eth_blockNumber" => json(U64::from(chain.block_number()?)),
            "eth_gasPrice" => json(U256::from(chain.base_fee())),
            // Blocks are never full, so no tip is needed to be included.
            "eth_maxPriorityFeePerGas" => json(U256::ZERO),
            "eth_getBalance" => {
                self.latest_only(opt(p, 1)?)?;
                json(chain.account(arg(p, 0)?)?.0)
            }
            "eth_getTransactionCount" => {
                self.latest_only(opt(p, 1)?)?;
                json(U64::from(chain.account(arg(p, 0)?)?.1))
            }
            "eth_getCode" => {
                self.latest_only(opt(p, 1)?)?;
                json(chain.code(arg(p, 0)?)?)
            }
            "eth_getStorageAt" => {
                self.latest_only(opt(p, 2)?)?;
                json(B256::from(chain.storage(arg(p, 0)?, arg(p, 1)?)?))
            }
            "eth_call" => {
                self.latest_only(opt(p, 1)?)?;
                let req: TransactionRequest = arg(p, 0)?;
                match chain.call(&req)? {
                    ExecutionResult::Success { output, .. } => json(output.into_data()),
                    ExecutionResult::Revert { output, .. } => {
                        Err(ChainError::Reverted(output).into())
                    }
                    ExecutionResult::Halt { reason, .. } => {
                        Err(ChainError::Halted(format!("{reason:?}")).into())
                    }
                }
            }
            "eth_estimateGas" => {
                self.latest_only(opt(p, 1)?)?;
                json(U64::from(chain.estimate_gas(&arg(p, 0)?)?))
            }
            "eth_sendRawTransaction" => {
                let raw: Bytes = arg(p, 0)?;
                json(chain.send_raw_transaction(&raw)?)
            }
            "eth_getTransactionByHash" => json(chain.transaction(arg(p, 0)?)?),
            "eth_getTransactionReceipt" => json(chain.receipt(arg(p, 0)?)?),
            "eth_getBlockByNumber" => {
                let tag: BlockNumberOrTag = arg(p, 0)?;
                let full = opt::<bool>(p, 1)?.unwrap_or(false);
                match self.resolve(tag)? {
                    Some(n) => self.block_json(n, full),
                    None => Ok(Value::Null),
                }
            }
            "eth_getBlockByHash" => {
                let full = opt::<bool>(p, 1)?.unwrap_or(false);
                match chain.block_number_by_hash(arg(p, 0)?)? {
                    Some(n) => self.block_json(n, full),
                    None => Ok(Value::Null),
                }
            }
            "eth_feeHistory" => self.fee_history(p),
            "eth_getLogs" => self.logs(&arg(p, 0)?),
            _ => Err(RpcError {
                code: -32601,
                message: format!("the method {method} does not exist/is not available"),
                data: None,
            }),
        }
    }

    /// Block number of a tag; `None` for a number beyond the head.
    fn resolve(&self, tag: BlockNumberOrTag) -> Result<Option<u64>, RpcError> {
        let head = self.chain.block_number()?;
        Ok(match tag {
            BlockNumberOrTag::Number(n) if n > head => None,
            BlockNumberOrTag::Number(n) => Some(n),
            BlockNumberOrTag::Earliest => Some(0),
            // Instant finality: latest, safe, finalized and pending are all the head.
            _ => Some(head),
        })
    }

    /// State is kept for the head only; older blocks are refused rather than answered wrong.
    fn latest_only(&self, block: Option<BlockId>) -> Result<(), RpcError> {
        let number = match block {
            Some(BlockId::Number(BlockNumberOrTag::Number(n))) => n,
            Some(BlockId::Hash(h)) => self
                .chain
                .block_number_by_hash(h.block_hash)?
                .ok_or_else(|| ChainError::UnknownBlock(h.block_hash.to_string()))?,
            Some(BlockId::Number(BlockNumberOrTag::Earliest)) => 0,
            _ => return Ok(()),
        };
        if number == self.chain.block_number()? {
            Ok(())
        } else {
            Err(ChainError::NoHistoricalState(number).into())
        }
    }

    fn block_json(&self, number: u64, full: bool) -> RpcResult {
        let Some(block) = self.chain.block(number)? else {
            return Ok(Value::Null);
        };
        if !full {
            return json(block);
        }
        let mut txs = Vec::new();
        for hash in block.transactions.hashes() {
            txs.extend(self.chain.transaction(hash)?);
        }
        json(alloy::rpc::types::Block {
            header: block.header,
            uncles: block.uncles,
            transactions: BlockTransactions::Full(txs),
            withdrawals: block.withdrawals,
        })
    }

    /// Constant base fee and empty tips: what `eth_feeHistory` looks like on a chain that is
    /// never congested. alloy's fee estimator reads it.
    fn fee_history(&self, p: &[Value]) -> RpcResult {
        let count: U64 = arg(p, 0)?;
        let newest: BlockNumberOrTag = arg(p, 1)?;
        let percentiles: Vec<f64> = opt(p, 2)?.unwrap_or_default();
        let head = self.chain.block_number()?;
        let newest = self.resolve(newest)?.unwrap_or(head);
        let count = count.to::<u64>().clamp(1, 1024).min(newest + 1);
        let oldest = newest + 1 - count;
        let base_fee = u128::from(self.chain.base_fee());
        let mut ratios = Vec::new();
        for n in oldest..=newest {
            let used = self.chain.block(n)?.map_or(0, |b| b.header.gas_used);
            ratios.push(used as f64 / self.chain.gas_limit() as f64);
        }
        json(FeeHistory {
            base_fee_per_gas: vec![base_fee; count as usize + 1],
            gas_used_ratio: ratios,
            base_fee_per_blob_gas: vec![],
            blob_gas_used_ratio: vec![],
            oldest_block: oldest,
            reward: Some(vec![vec![0; percentiles.len()]; count as usize]),
        })
    }

    fn logs(&self, filter: &Filter) -> RpcResult {
        let (from, to) = if let Some(hash) = filter.get_block_hash() {
            let n = self
                .chain
                .block_number_by_hash(hash)?
                .ok_or_else(|| ChainError::UnknownBlock(hash.to_string()))?;
            (n, n)
        } else {
            let (from, to) = filter.block_option.as_range();
            let head = self.chain.block_number()?;
            let at = |t: Option<&BlockNumberOrTag>| -> Result<u64, RpcError> {
                Ok(match t {
                    None => head,
                    Some(t) => self.resolve(*t)?.unwrap_or(head),
                })
            };
            (at(from)?, at(to)?)
        };
        let mut out: Vec<Log> = Vec::new();
        for n in from..=to {
            let Some(block) = self.chain.block(n)? else {
                break;
            };
            if !filter.matches_bloom(block.header.logs_bloom) {
                continue;
            }
            for hash in block.transactions.hashes() {
                if let Some(receipt) = self.chain.receipt(hash)? {
                    out.extend(
                        receipt
                            .inner
                            .logs()
                            .iter()
                            .filter(|l| filter.rpc_matches(l))
                            .cloned(),
                    );
                }
            }
        }
        json(out)
    }
}

fn json<T: serde::Serialize>(v: T) -> RpcResult {
    serde_json::to_value(v).map_err(internal)
}

fn internal(e: serde_json::Error) -> RpcError {
    RpcError {
        code: -32603,
        message: e.to_string(),
        data: None,
    }
}

fn arg<T: DeserializeOwned>(p: &[Value], i: usize) -> Result<T, RpcError> {
    let v = p
        .get(i)
        .ok_or_else(|| RpcError::invalid_params(format!("missing parameter {i}")))?;
    Ok(serde_json::from_value(v.clone())?)
}

fn opt<T: DeserializeOwned>(p: &[Value], i: usize) -> Result<Option<T>, RpcError> {
    match p.get(i) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => Ok(Some(serde_json::from_value(v.clone())?)),
    }
}

fn response(req: &SerializedRequest, result: RpcResult) -> Response {
    let payload = match result.and_then(|v| serde_json::value::to_raw_value(&v).map_err(internal)) {
        Ok(raw) => ResponsePayload::Success(raw),
        Err(e) => ResponsePayload::Failure(ErrorPayload {
            code: e.code,
            message: Cow::Owned(e.message),
            data: e
                .data
                .and_then(|d| serde_json::value::to_raw_value(&d).ok()),
        }),
    };
    Response {
        id: req.id().clone(),
        payload,
    }
}

impl tower_service::Service<RequestPacket> for RpcService {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: RequestPacket) -> Self::Future {
        let this = self.clone();
        // The chain is synchronous (redb, revm) and fast; answering inline keeps the
        // in-process client free of any runtime requirement.
        Box::pin(async move { Ok(this.handle_packet(req)) })
    }
}
