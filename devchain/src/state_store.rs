//! redb tables of the chain and the EVM's view of the state in them.
//!
//! State is read straight from redb (no in-memory copy), so reopening the store is all a
//! restart needs. Keys and values are fixed-width arrays where possible: one B-tree lookup
//! per account or slot, no encoding library.

use alloy::primitives::{Address, B256, Bytes, KECCAK256_EMPTY, U256};
use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};
use revm::DatabaseRef;
use revm::bytecode::Bytecode;
use revm::state::{AccountInfo, EvmState};

use crate::error::ChainError;

/// address → balance (32, BE) ‖ nonce (8, BE) ‖ code hash (32).
pub const ACCOUNTS: TableDefinition<[u8; 20], [u8; 72]> = TableDefinition::new("accounts");
/// (address, slot) → value; zero values are deleted, as in Ethereum.
pub const STORAGE: TableDefinition<([u8; 20], [u8; 32]), [u8; 32]> =
    TableDefinition::new("storage");
/// code hash → original bytecode.
pub const CODE: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("code");
/// block number → JSON of the RPC block (transaction hashes only).
pub const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
/// block number → block hash (BLOCKHASH opcode, and hash lookups without parsing JSON).
pub const BLOCK_HASHES: TableDefinition<u64, [u8; 32]> = TableDefinition::new("block_hashes");
/// block hash → block number.
pub const BLOCK_NUMBERS: TableDefinition<[u8; 32], u64> = TableDefinition::new("block_numbers");
/// transaction hash → JSON of the RPC transaction (with its block).
pub const TXS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("transactions");
/// transaction hash → JSON of the RPC receipt.
pub const RECEIPTS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("receipts");
/// `chain_id` and `head` (block number of the last sealed block).
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

pub const META_CHAIN_ID: &str = "chain_id";
pub const META_HEAD: &str = "head";

/// Creates every table so that read transactions never meet a missing one.
pub fn create_tables(txn: &WriteTransaction) -> Result<(), ChainError> {
    txn.open_table(ACCOUNTS)?;
    txn.open_table(STORAGE)?;
    txn.open_table(CODE)?;
    txn.open_table(BLOCKS)?;
    txn.open_table(BLOCK_HASHES)?;
    txn.open_table(BLOCK_NUMBERS)?;
    txn.open_table(TXS)?;
    txn.open_table(RECEIPTS)?;
    txn.open_table(META)?;
    Ok(())
}

pub fn encode_account(info: &AccountInfo) -> [u8; 72] {
    let mut v = [0u8; 72];
    v[..32].copy_from_slice(&info.balance.to_be_bytes::<32>());
    v[32..40].copy_from_slice(&info.nonce.to_be_bytes());
    v[40..].copy_from_slice(info.code_hash.as_slice());
    v
}

pub fn decode_account(v: &[u8; 72]) -> AccountInfo {
    let mut nonce = [0u8; 8];
    nonce.copy_from_slice(&v[32..40]);
    AccountInfo {
        balance: U256::from_be_slice(&v[..32]),
        nonce: u64::from_be_bytes(nonce),
        code_hash: B256::from_slice(&v[40..]),
        // `None` makes revm fetch the code by hash; `AccountInfo::default()` has
        // `Some(empty code)`, which would silently run every contract as empty.
        code: None,
        ..Default::default()
    }
}

/// A consistent snapshot of the state (one redb read transaction) for revm.
pub struct StateView {
    accounts: redb::ReadOnlyTable<[u8; 20], [u8; 72]>,
    storage: redb::ReadOnlyTable<([u8; 20], [u8; 32]), [u8; 32]>,
    code: redb::ReadOnlyTable<[u8; 32], &'static [u8]>,
    hashes: redb::ReadOnlyTable<u64, [u8; 32]>,
}

impl StateView {
    pub fn new(txn: &ReadTransaction) -> Result<Self, ChainError> {
        Ok(Self {
            accounts: txn.open_table(ACCOUNTS)?,
            storage: txn.open_table(STORAGE)?,
            code: txn.open_table(CODE)?,
            hashes: txn.open_table(BLOCK_HASHES)?,
        })
    }

    pub fn account(&self, address: Address) -> Result<Option<AccountInfo>, ChainError> {
        Ok(self
            .accounts
            .get(address.into_array())?
            .map(|v| decode_account(&v.value())))
    }

    pub fn code(&self, address: Address) -> Result<Bytes, ChainError> {
        match self.account(address)? {
            Some(info) if info.code_hash != KECCAK256_EMPTY => {
                Ok(self.code_by_hash_ref(info.code_hash)?.original_bytes())
            }
            _ => Ok(Bytes::new()),
        }
    }
}

impl DatabaseRef for StateView {
    type Error = ChainError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, ChainError> {
        self.account(address)
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, ChainError> {
        if code_hash == KECCAK256_EMPTY {
            return Ok(Bytecode::default());
        }
        let code = self
            .code
            .get(code_hash.0)?
            .ok_or_else(|| ChainError::Corrupt(format!("missing code {code_hash}")))?;
        Ok(Bytecode::new_raw(Bytes::copy_from_slice(code.value())))
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, ChainError> {
        Ok(self
            .storage
            .get((address.into_array(), index.to_be_bytes::<32>()))?
            .map(|v| U256::from_be_bytes(v.value()))
            .unwrap_or_default())
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, ChainError> {
        Ok(self
            .hashes
            .get(number)?
            .map(|v| B256::from(v.value()))
            .unwrap_or_default())
    }
}

/// Writes revm's state changes into `txn`, with the semantics of revm's own `CacheDB::commit`:
/// a self-destructed account disappears with its storage, a (re)created one starts with empty
/// storage, untouched accounts are skipped.
pub fn apply_state(txn: &WriteTransaction, state: EvmState) -> Result<(), ChainError> {
    let mut accounts = txn.open_table(ACCOUNTS)?;
    let mut storage = txn.open_table(STORAGE)?;
    let mut code = txn.open_table(CODE)?;
    for (address, account) in state {
        if !account.is_touched() {
            continue;
        }
        let key = address.into_array();
        if account.is_selfdestructed() || account.is_created() {
            let slots: Vec<[u8; 32]> = storage
                .range((key, [0u8; 32])..=(key, [0xffu8; 32]))?
                .map(|r| r.map(|(k, _)| k.value().1))
                .collect::<Result<_, _>>()?;
            for slot in slots {
                storage.remove((key, slot))?;
            }
        }
        // EIP-161: an empty touched account is removed (also what a self-destruct leaves).
        if account.is_selfdestructed() || account.is_empty() {
            accounts.remove(key)?;
            continue;
        }
        if let Some(bytecode) = &account.info.code
            && !bytecode.is_empty()
        {
            code.insert(account.info.code_hash.0, bytecode.original_byte_slice())?;
        }
        accounts.insert(key, encode_account(&account.info))?;
        for (slot, value) in account.changed_storage_slots() {
            let k = (key, slot.to_be_bytes::<32>());
            if value.present_value.is_zero() {
                storage.remove(k)?;
            } else {
                storage.insert(k, value.present_value.to_be_bytes::<32>())?;
            }
        }
    }
    Ok(())
}

/// Sets the balance of genesis accounts (no code, nonce 0).
pub fn fund(txn: &WriteTransaction, alloc: &[(Address, U256)]) -> Result<(), ChainError> {
    let mut accounts = txn.open_table(ACCOUNTS)?;
    for (address, balance) in alloc {
        let info = AccountInfo {
            balance: *balance,
            nonce: 0,
            code_hash: KECCAK256_EMPTY,
            ..Default::default()
        };
        accounts.insert(address.into_array(), encode_account(&info))?;
    }
    Ok(())
}
