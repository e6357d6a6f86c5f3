//! Errors of the embedded chain.

use alloy::primitives::Bytes;

/// Everything that can go wrong in the embedded chain. RPC maps these to JSON-RPC errors.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// Displayed with the redb error's own text, so not also its source.
    #[error("chain store: {0}")]
    Store(redb::Error),
    #[error("the chain store is open in another process (one process at a time may open it)")]
    InUse,
    #[error("chain store is corrupt: {0}")]
    Corrupt(String),
    #[error("the store was created for chain id {stored}, not {given}")]
    WrongChainId { stored: u64, given: u64 },
    #[error("invalid raw transaction: {0}")]
    Decode(String),
    #[error("unsupported transaction type {0} (legacy, EIP-2930 and EIP-1559 only)")]
    UnsupportedTxType(u8),
    #[error("cannot recover the signer: {0}")]
    Signature(String),
    /// Rejected before execution (nonce, balance, fee, chain id, gas limit): no block is sealed.
    #[error("transaction rejected: {0}")]
    Rejected(String),
    /// A call or gas estimate ran and reverted; the data is the revert payload.
    #[error("execution reverted")]
    Reverted(Bytes),
    #[error("execution halted: {0}")]
    Halted(String),
    #[error("block {0} is not the head; historical state is not kept")]
    NoHistoricalState(u64),
    #[error("unknown block {0}")]
    UnknownBlock(String),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for ChainError {
            fn from(e: $t) -> Self {
                ChainError::Store(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::Error,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

impl From<redb::DatabaseError> for ChainError {
    fn from(e: redb::DatabaseError) -> Self {
        match e {
            redb::DatabaseError::DatabaseAlreadyOpen => ChainError::InUse,
            e => ChainError::Store(e.into()),
        }
    }
}

impl From<serde_json::Error> for ChainError {
    fn from(e: serde_json::Error) -> Self {
        ChainError::Corrupt(format!("stored JSON: {e}"))
    }
}

// revm needs its database error to be marked as such; a store error aborts execution.
impl revm::database_interface::DBErrorMarker for ChainError {}
