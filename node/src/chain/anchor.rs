//! Anchoring one head: read the member's latest anchored head from the contract, check that the
//! local log still contains it, and anchor the local head with the consistency proof from it.

use alloy::primitives::B256;
use alloy::providers::Provider;
use anyhow::{Context, Result, bail};
use hl_ledger::Ledger;
use time::OffsetDateTime;

use hl_contracts::HealthLedger::HealthLedgerErrors;

use super::Chain;
use super::state::{AnchorRecord, AnchorState, PendingAnchor};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorOutcome {
    /// The chain already holds this head.
    UpToDate {
        size: u64,
    },
    Anchored(AnchorRecord),
}

/// The latest head the contract holds for this node's account, if any.
pub async fn anchored_head(chain: &Chain) -> Result<Option<(u64, [u8; 32])>> {
    let h = chain
        .contract
        .latestHead(chain.account)
        .call()
        .await
        .context("reading latestHead from the contract")?;
    Ok((h.size > 0).then_some((h.size, h.root.0)))
}

/// Anchors the log's current head, unless the chain already has it. Refuses, loudly, when the
/// local log no longer contains the anchored head: that is a rewritten or restored history.
pub async fn anchor_once(
    ledger: &Ledger,
    chain: &Chain,
    state: &AnchorState,
) -> Result<AnchorOutcome> {
    if let Some(outcome) = settle_pending(chain, state).await? {
        return Ok(outcome);
    }
    let head = ledger.head()?;
    if head.size == 0 {
        bail!("the log is empty: nothing to anchor");
    }
    let previous = anchored_head(chain).await?;
    let proof = match previous {
        None => vec![],
        Some((size, _)) if size > head.size => bail!(
            "the chain holds a head of size {size} but the local log has only {} records: this log is behind its own anchored history (restored from an old backup?)",
            head.size
        ),
        Some((size, root)) => {
            let local = ledger.root_at(size)?;
            if local != root {
                bail!(
                    "the local log's root at size {size} ({}) differs from the anchored root ({}): history was rewritten; refusing to anchor",
                    hex::encode(local),
                    hex::encode(root)
                );
            }
            if size == head.size {
                return Ok(AnchorOutcome::UpToDate { size });
            }
            ledger.consistency_proof(size, head.size)?
        }
    };
    let proof: Vec<B256> = proof.into_iter().map(B256::from).collect();
    let sent = match chain
        .contract
        .anchor(head.size, B256::from(head.root), proof)
        .send()
        .await
    {
        Ok(p) => p,
        Err(e) => match e.as_decoded_interface_error::<HealthLedgerErrors>() {
            Some(reason) => bail!("the contract refused the anchor: {reason:?}"),
            None => return Err(anyhow::Error::new(e).context("sending the anchor transaction")),
        },
    };
    // Remember the transaction before waiting: a node killed now waits for it after a restart
    // instead of sending a second one.
    state.set_pending(Some(&PendingAnchor {
        size: head.size,
        root: hex::encode(head.root),
        tx_hash: sent.tx_hash().to_string(),
    }))?;
    let receipt = sent
        .with_required_confirmations(chain.confirmations.max(1))
        .get_receipt()
        .await
        .context("waiting for the anchor transaction")?;
    finish(state, head.size, hex::encode(head.root), &receipt)
}

/// Records a mined anchor transaction and clears the pending one.
fn finish(
    state: &AnchorState,
    size: u64,
    root: String,
    receipt: &alloy::rpc::types::TransactionReceipt,
) -> Result<AnchorOutcome> {
    state.set_pending(None)?;
    if !receipt.status() {
        bail!(
            "the anchor transaction {} reverted",
            receipt.transaction_hash
        );
    }
    let record = AnchorRecord {
        size,
        root,
        tx_hash: receipt.transaction_hash.to_string(),
        block_number: receipt.block_number.unwrap_or_default(),
        block_hash: receipt
            .block_hash
            .map(|h| h.to_string())
            .unwrap_or_default(),
        gas_used: receipt.gas_used,
        confirmed_at: hl_ledger::time_fmt::format_utc(OffsetDateTime::now_utc())?,
    };
    state.record(&record)?;
    Ok(AnchorOutcome::Anchored(record))
}

/// Settles an anchor transaction sent before a restart: mined → recorded; still in the pool →
/// waited for; unknown to the chain (dropped, or lost in a reorg) → forgotten, so that the
/// caller anchors afresh from what the contract now holds.
async fn settle_pending(chain: &Chain, state: &AnchorState) -> Result<Option<AnchorOutcome>> {
    let Some(p) = state.pending()? else {
        return Ok(None);
    };
    let hash: alloy::primitives::TxHash = p
        .tx_hash
        .parse()
        .with_context(|| format!("pending anchor tx hash '{}' in anchors.redb", p.tx_hash))?;
    let provider = chain.contract.provider();
    if let Some(receipt) = provider.get_transaction_receipt(hash).await? {
        tracing::info!(tx = %hash, size = p.size, "pending anchor transaction was mined");
        return finish(state, p.size, p.root, &receipt).map(Some);
    }
    if provider.get_transaction_by_hash(hash).await?.is_some() {
        tracing::info!(tx = %hash, size = p.size, "waiting for the pending anchor transaction");
        let receipt =
            alloy::providers::PendingTransactionBuilder::new(provider.root().clone(), hash)
                .with_required_confirmations(chain.confirmations.max(1))
                .get_receipt()
                .await
                .context("waiting for the pending anchor transaction")?;
        return finish(state, p.size, p.root, &receipt).map(Some);
    }
    tracing::warn!(tx = %hash, size = p.size, "pending anchor transaction is gone from the chain; anchoring again");
    state.set_pending(None)?;
    Ok(None)
}
