//! The chain: executes each signed transaction on revm and seals it in its own block, writing
//! state, block, transaction and receipt in one redb write transaction (atomic per block).

use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use alloy::consensus::{Transaction as _, TxEnvelope};
use alloy::eips::eip2718::Decodable2718;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::rpc::types::{self as rpc, TransactionRequest};
use redb::{Database, ReadableDatabase, ReadableTable};
use revm::context::result::{EVMError, ExecutionResult, ResultAndState};
use revm::context::{BlockEnv, CfgEnv, TxEnv};
use revm::primitives::hardfork::SpecId;
use revm::{Context, ExecuteEvm, MainBuilder, MainContext};

use crate::blocks::{self, Executed, HeaderParams, Parent};
use crate::error::ChainError;
use crate::state_store::{self as store, StateView};

/// How the chain is created the first time (later opens only check the chain id).
#[derive(Clone, Debug)]
pub struct ChainConfig {
    pub chain_id: u64,
    /// Funded accounts of the genesis block.
    pub genesis: Vec<(Address, U256)>,
    pub gas_limit: u64,
    /// Constant base fee (wei). A private chain has no congestion to price, so it stays fixed.
    pub base_fee: u64,
}

impl ChainConfig {
    pub fn new(chain_id: u64, genesis: Vec<(Address, U256)>) -> Self {
        Self {
            chain_id,
            genesis,
            gas_limit: 30_000_000,
            base_fee: 1_000_000_000,
        }
    }
}

/// The hardfork the chain runs: what solc 0.8 targets by default and anvil runs.
const SPEC: SpecId = SpecId::PRAGUE;

pub struct Chain {
    db: Database,
    config: ChainConfig,
    /// One block producer at a time: execution reads the last committed state.
    producer: Mutex<()>,
}

type Evm = revm::handler::MainnetEvm<
    Context<BlockEnv, TxEnv, CfgEnv, revm::database_interface::WrapDatabaseRef<StateView>>,
>;

impl Chain {
    /// Opens (or creates with the genesis of `config`) the chain stored at `path`.
    pub fn open(path: &Path, config: ChainConfig) -> Result<Self, ChainError> {
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        store::create_tables(&txn)?;
        let stored = txn
            .open_table(store::META)?
            .get(store::META_CHAIN_ID)?
            .map(|v| v.value());
        match stored {
            Some(id) if id != config.chain_id => {
                return Err(ChainError::WrongChainId {
                    stored: id,
                    given: config.chain_id,
                });
            }
            Some(_) => {}
            None => {
                store::fund(&txn, &config.genesis)?;
                let genesis = blocks::genesis(now(), &header_params(&config));
                write_block(&txn, &genesis)?;
                let mut meta = txn.open_table(store::META)?;
                meta.insert(store::META_CHAIN_ID, config.chain_id)?;
                meta.insert(store::META_HEAD, 0)?;
            }
        }
        txn.commit()?;
        Ok(Self {
            db,
            config,
            producer: Mutex::new(()),
        })
    }

    pub fn chain_id(&self) -> u64 {
        self.config.chain_id
    }

    pub fn base_fee(&self) -> u64 {
        self.config.base_fee
    }

    pub fn gas_limit(&self) -> u64 {
        self.config.gas_limit
    }

    pub fn block_number(&self) -> Result<u64, ChainError> {
        let txn = self.db.begin_read()?;
        head(&txn)
    }

    pub fn block(&self, number: u64) -> Result<Option<rpc::Block>, ChainError> {
        let txn = self.db.begin_read()?;
        read_block(&txn, number)
    }

    pub fn block_number_by_hash(&self, hash: B256) -> Result<Option<u64>, ChainError> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(store::BLOCK_NUMBERS)?;
        Ok(t.get(hash.0)?.map(|v| v.value()))
    }

    pub fn transaction(&self, hash: B256) -> Result<Option<rpc::Transaction>, ChainError> {
        let txn = self.db.begin_read()?;
        read_json(&txn.open_table(store::TXS)?, hash)
    }

    pub fn receipt(&self, hash: B256) -> Result<Option<rpc::TransactionReceipt>, ChainError> {
        let txn = self.db.begin_read()?;
        read_json(&txn.open_table(store::RECEIPTS)?, hash)
    }

    /// The latest state's account (balance, nonce) or `None` if it does not exist.
    pub fn account(&self, address: Address) -> Result<(U256, u64), ChainError> {
        let txn = self.db.begin_read()?;
        let info = StateView::new(&txn)?.account(address)?;
        Ok(info.map(|i| (i.balance, i.nonce)).unwrap_or_default())
    }

    pub fn code(&self, address: Address) -> Result<Bytes, ChainError> {
        let txn = self.db.begin_read()?;
        StateView::new(&txn)?.code(address)
    }

    pub fn storage(&self, address: Address, slot: U256) -> Result<U256, ChainError> {
        use revm::DatabaseRef;
        let txn = self.db.begin_read()?;
        StateView::new(&txn)?.storage_ref(address, slot)
    }

    /// Decodes, verifies and executes a signed transaction and seals it in a new block.
    /// A transaction that fails validation (nonce, funds, chain id…) seals nothing; one that
    /// reverts is mined with status 0, as on Ethereum.
    pub fn send_raw_transaction(&self, raw: &[u8]) -> Result<B256, ChainError> {
        let tx =
            TxEnvelope::decode_2718_exact(raw).map_err(|e| ChainError::Decode(e.to_string()))?;
        // `recover_signer` needs alloy's `k256` feature (not in the workspace list); the
        // primitive recovery it wraps is available through `signer-local`.
        let from = tx
            .signature()
            .recover_address_from_prehash(&tx.signature_hash())
            .map_err(|e| ChainError::Signature(e.to_string()))?;
        let tx_env = tx_env(&tx, from)?;

        let _producer = self.producer.lock().unwrap_or_else(|p| p.into_inner());
        let read = self.db.begin_read()?;
        let parent = read_block(&read, head(&read)?)?
            .ok_or_else(|| ChainError::Corrupt("missing head block".into()))?;
        let parent = Parent {
            number: parent.header.number,
            hash: parent.header.hash,
            timestamp: parent.header.timestamp,
        };
        // Wall-clock seconds, but strictly increasing so that every block has its own time.
        let timestamp = now().max(parent.timestamp + 1);
        let block_env = self.block_env(parent.number + 1, timestamp, self.config.base_fee);
        let mut evm = self.evm(StateView::new(&read)?, block_env, false);
        let ResultAndState { result, state } = evm.transact(tx_env).map_err(evm_error)?;
        drop(evm);
        drop(read);

        let contract_address = tx.kind().is_create().then(|| from.create(tx.nonce()));
        let exec = Executed {
            effective_gas_price: tx.effective_gas_price(Some(self.config.base_fee)),
            success: result.is_success(),
            gas_used: result.tx_gas_used(),
            logs: result.into_logs(),
            contract_address,
            from,
            tx,
        };
        let sealed = blocks::seal(&parent, timestamp, &header_params(&self.config), exec);
        let hash = sealed.receipt.transaction_hash;

        let txn = self.db.begin_write()?;
        store::apply_state(&txn, state)?;
        write_block(&txn, &sealed.block)?;
        txn.open_table(store::TXS)?
            .insert(hash.0, serde_json::to_vec(&sealed.tx)?.as_slice())?;
        txn.open_table(store::RECEIPTS)?
            .insert(hash.0, serde_json::to_vec(&sealed.receipt)?.as_slice())?;
        txn.open_table(store::META)?
            .insert(store::META_HEAD, parent.number + 1)?;
        txn.commit()?;
        Ok(hash)
    }

    /// Executes `req` against the latest state without committing (eth_call). The nonce is not
    /// checked and the base fee is zero, as nodes do for calls.
    pub fn call(&self, req: &TransactionRequest) -> Result<ExecutionResult, ChainError> {
        self.call_with_gas(req, req.gas.unwrap_or(self.config.gas_limit))
    }

    fn call_with_gas(
        &self,
        req: &TransactionRequest,
        gas_limit: u64,
    ) -> Result<ExecutionResult, ChainError> {
        let read = self.db.begin_read()?;
        let number = head(&read)?;
        let block_env = self.block_env(number + 1, now(), 0);
        let mut evm = self.evm(StateView::new(&read)?, block_env, true);
        let tx = TxEnv::builder()
            .caller(req.from.unwrap_or_default())
            .kind(req.to.unwrap_or(TxKind::Create))
            .data(req.input.input().cloned().unwrap_or_default())
            .value(req.value.unwrap_or_default())
            .gas_limit(gas_limit)
            .gas_price(0)
            .chain_id(Some(self.config.chain_id))
            .build_fill();
        Ok(evm.transact(tx).map_err(evm_error)?.result)
    }

    /// The smallest gas limit with which `req` succeeds (binary search, as geth does: gas used
    /// is not enough because of refunds and the 63/64 rule).
    pub fn estimate_gas(&self, req: &TransactionRequest) -> Result<u64, ChainError> {
        let cap = req.gas.unwrap_or(self.config.gas_limit);
        let used = match self.call_with_gas(req, cap)? {
            ExecutionResult::Success { gas, .. } => gas.tx_gas_used(),
            ExecutionResult::Revert { output, .. } => return Err(ChainError::Reverted(output)),
            ExecutionResult::Halt { reason, .. } => {
                return Err(ChainError::Halted(format!("{reason:?}")));
            }
        };
        let (mut lo, mut hi) = (used.saturating_sub(1), cap);
        // Most calls succeed with a little headroom: try it before bisecting the whole range.
        let guess = (used + used / 4).min(cap);
        if self.call_with_gas(req, guess)?.is_success() {
            hi = guess;
        } else {
            lo = guess;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.call_with_gas(req, mid)?.is_success() {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Ok(hi)
    }

    fn block_env(&self, number: u64, timestamp: u64, base_fee: u64) -> BlockEnv {
        BlockEnv {
            number: U256::from(number),
            timestamp: U256::from(timestamp),
            gas_limit: self.config.gas_limit,
            basefee: base_fee,
            // Post-merge PREVRANDAO must be set; a private chain has no beacon randomness.
            prevrandao: Some(B256::ZERO),
            ..Default::default()
        }
    }

    fn evm(&self, view: StateView, block: BlockEnv, is_call: bool) -> Evm {
        let mut cfg = CfgEnv::new_with_spec(SPEC);
        cfg.chain_id = self.config.chain_id;
        cfg.disable_nonce_check = is_call;
        Context::mainnet()
            .with_cfg(cfg)
            .with_block(block)
            .with_ref_db(view)
            .build_mainnet()
    }
}

/// The revm transaction for a signed envelope (types revm and we support: 0, 1, 2).
fn tx_env(tx: &TxEnvelope, from: Address) -> Result<TxEnv, ChainError> {
    let builder = TxEnv::builder()
        .tx_type(Some(tx.tx_type() as u8))
        .caller(from)
        .kind(tx.kind())
        .data(tx.input().clone())
        .value(tx.value())
        .nonce(tx.nonce())
        .gas_limit(tx.gas_limit())
        .chain_id(tx.chain_id())
        .access_list(tx.access_list().cloned().unwrap_or_default());
    let builder = match tx {
        TxEnvelope::Legacy(_) | TxEnvelope::Eip2930(_) => {
            builder.gas_price(tx.gas_price().unwrap_or_default())
        }
        TxEnvelope::Eip1559(_) => builder
            .gas_price(tx.max_fee_per_gas())
            .gas_priority_fee(tx.max_priority_fee_per_gas()),
        other => return Err(ChainError::UnsupportedTxType(other.tx_type() as u8)),
    };
    builder
        .build()
        .map_err(|e| ChainError::Rejected(format!("{e:?}")))
}

fn evm_error(e: EVMError<ChainError>) -> ChainError {
    match e {
        EVMError::Database(e) => e,
        EVMError::Transaction(e) => ChainError::Rejected(e.to_string()),
        EVMError::Header(e) => ChainError::Rejected(e.to_string()),
        other => ChainError::Rejected(other.to_string()),
    }
}

fn header_params(config: &ChainConfig) -> HeaderParams {
    HeaderParams {
        gas_limit: config.gas_limit,
        base_fee: config.base_fee,
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn head(txn: &redb::ReadTransaction) -> Result<u64, ChainError> {
    txn.open_table(store::META)?
        .get(store::META_HEAD)?
        .map(|v| v.value())
        .ok_or_else(|| ChainError::Corrupt("no head".into()))
}

fn read_block(txn: &redb::ReadTransaction, number: u64) -> Result<Option<rpc::Block>, ChainError> {
    let t = txn.open_table(store::BLOCKS)?;
    let v = t.get(number)?;
    Ok(match v {
        Some(v) => Some(serde_json::from_slice(v.value())?),
        None => None,
    })
}

fn read_json<T: serde::de::DeserializeOwned>(
    t: &redb::ReadOnlyTable<[u8; 32], &'static [u8]>,
    key: B256,
) -> Result<Option<T>, ChainError> {
    Ok(match t.get(key.0)? {
        Some(v) => Some(serde_json::from_slice(v.value())?),
        None => None,
    })
}

fn write_block(txn: &redb::WriteTransaction, block: &rpc::Block) -> Result<(), ChainError> {
    let (number, hash) = (block.header.number, block.header.hash);
    txn.open_table(store::BLOCKS)?
        .insert(number, serde_json::to_vec(block)?.as_slice())?;
    txn.open_table(store::BLOCK_HASHES)?
        .insert(number, hash.0)?;
    txn.open_table(store::BLOCK_NUMBERS)?
        .insert(hash.0, number)?;
    Ok(())
}
