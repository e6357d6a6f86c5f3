//! Sealing a block around one executed transaction: the header (and so the block hash), the
//! RPC views of block, transaction and receipt that are stored and served as they are.

use alloy::consensus::{
    Eip658Value, Header, Receipt, ReceiptEnvelope, ReceiptWithBloom, Transaction as _, TxEnvelope,
    constants::EMPTY_OMMER_ROOT_HASH, proofs,
};
use alloy::primitives::{Address, B256, Bloom, Bytes, Log as PrimitiveLog, U256};
use alloy::rpc::types::{self as rpc, BlockTransactions};

/// Everything about a transaction's execution that goes into its block.
pub struct Executed {
    pub tx: TxEnvelope,
    pub from: Address,
    pub success: bool,
    pub gas_used: u64,
    pub logs: Vec<PrimitiveLog>,
    pub contract_address: Option<Address>,
    pub effective_gas_price: u128,
}

/// The parent's fields the next block depends on.
pub struct Parent {
    pub number: u64,
    pub hash: B256,
    pub timestamp: u64,
}

pub struct Sealed {
    pub block: rpc::Block,
    pub tx: rpc::Transaction,
    pub receipt: rpc::TransactionReceipt,
}

/// Chain-wide header constants of the embedded chain.
pub struct HeaderParams {
    pub gas_limit: u64,
    pub base_fee: u64,
}

/// The header hash is the Ethereum one (keccak of the RLP header), so tools that recompute it
/// agree. There is no state trie: `state_root` is zero (nothing here serves proofs).
fn seal_header(mut header: Header) -> rpc::Header {
    header.ommers_hash = EMPTY_OMMER_ROOT_HASH;
    let hash = header.hash_slow();
    rpc::Header {
        hash,
        inner: header,
        total_difficulty: Some(U256::ZERO),
        size: None,
    }
}

pub fn genesis(timestamp: u64, params: &HeaderParams) -> rpc::Block {
    let header = Header {
        number: 0,
        timestamp,
        gas_limit: params.gas_limit,
        base_fee_per_gas: Some(params.base_fee),
        transactions_root: proofs::calculate_transaction_root::<TxEnvelope>(&[]),
        receipts_root: proofs::calculate_receipt_root::<ReceiptEnvelope>(&[]),
        ..Default::default()
    };
    rpc::Block::new(seal_header(header), BlockTransactions::Hashes(vec![]))
}

/// Seals `exec` as the only transaction of the block after `parent`.
pub fn seal(parent: &Parent, timestamp: u64, params: &HeaderParams, exec: Executed) -> Sealed {
    let number = parent.number + 1;
    let tx_hash = *exec.tx.tx_hash();
    let receipt = Receipt {
        status: Eip658Value::Eip658(exec.success),
        cumulative_gas_used: exec.gas_used,
        logs: exec.logs.clone(),
    };
    let with_bloom = ReceiptWithBloom::from(receipt);
    let bloom: Bloom = with_bloom.logs_bloom;
    let consensus_receipt = receipt_envelope(&exec.tx, with_bloom);
    let header = Header {
        parent_hash: parent.hash,
        number,
        timestamp,
        gas_limit: params.gas_limit,
        gas_used: exec.gas_used,
        base_fee_per_gas: Some(params.base_fee),
        logs_bloom: bloom,
        transactions_root: proofs::calculate_transaction_root(std::slice::from_ref(&exec.tx)),
        receipts_root: proofs::calculate_receipt_root(std::slice::from_ref(&consensus_receipt)),
        extra_data: Bytes::from_static(b"healthledger-devchain"),
        ..Default::default()
    };
    let header = seal_header(header);
    let block_hash = header.hash;

    let rpc_logs: Vec<rpc::Log> = exec
        .logs
        .into_iter()
        .enumerate()
        .map(|(i, inner)| rpc::Log {
            inner,
            block_hash: Some(block_hash),
            block_number: Some(number),
            block_timestamp: Some(timestamp),
            transaction_hash: Some(tx_hash),
            transaction_index: Some(0),
            log_index: Some(i as u64),
            removed: false,
        })
        .collect();
    let rpc_receipt = receipt_envelope(
        &exec.tx,
        ReceiptWithBloom {
            receipt: Receipt {
                status: Eip658Value::Eip658(exec.success),
                cumulative_gas_used: exec.gas_used,
                logs: rpc_logs,
            },
            logs_bloom: bloom,
        },
    );
    let to = exec.tx.to();
    let receipt = rpc::TransactionReceipt {
        inner: rpc_receipt,
        transaction_hash: tx_hash,
        transaction_index: Some(0),
        block_hash: Some(block_hash),
        block_number: Some(number),
        gas_used: exec.gas_used,
        effective_gas_price: exec.effective_gas_price,
        blob_gas_used: None,
        blob_gas_price: None,
        from: exec.from,
        to,
        contract_address: exec.contract_address,
    };
    let tx = rpc::Transaction {
        inner: alloy::consensus::transaction::Recovered::new_unchecked(exec.tx, exec.from),
        block_hash: Some(block_hash),
        block_number: Some(number),
        transaction_index: Some(0),
        effective_gas_price: Some(exec.effective_gas_price),
        block_timestamp: Some(timestamp),
    };
    let block = rpc::Block::new(header, BlockTransactions::Hashes(vec![tx_hash]));
    Sealed { block, tx, receipt }
}

fn receipt_envelope<T>(tx: &TxEnvelope, r: ReceiptWithBloom<Receipt<T>>) -> ReceiptEnvelope<T> {
    match tx {
        TxEnvelope::Legacy(_) => ReceiptEnvelope::Legacy(r),
        TxEnvelope::Eip2930(_) => ReceiptEnvelope::Eip2930(r),
        // The executor admits only the three types above and EIP-1559.
        _ => ReceiptEnvelope::Eip1559(r),
    }
}
