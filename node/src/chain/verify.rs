//! Ties a proof bundle's checkpoint to the chain: the origin is a registered member, the
//! signing key is the one registered for it, and the checkpoint is an anchored head or a
//! consistent extension of one.

use alloy::primitives::U256;
use anyhow::{Context, Result, bail};
use hl_contracts::HealthLedger::HealthLedgerInstance;
use hl_ledger::merkle;
use hl_ledger::note::{Checkpoint, NoteVerifier};
use hl_ledger::proof_bundle::{AnchorConsistency, decode_hash};

/// What the chain confirmed about a checkpoint.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChainVerdict {
    pub member: String,
    pub member_status: &'static str,
    /// Index of the anchored head equal to the checkpoint, or the one it extends.
    pub head_index: u64,
    pub head_size: u64,
    /// True when the checkpoint is itself an anchored head.
    pub exact: bool,
}

async fn head_at<P: alloy::providers::Provider>(
    c: &HealthLedgerInstance<P>,
    member: alloy::primitives::Address,
    i: u64,
) -> Result<(u64, [u8; 32])> {
    let h = c
        .headAt(member, U256::from(i))
        .call()
        .await
        .context("reading headAt")?;
    Ok((h.size, h.root.0))
}

/// Index and root of the anchored head of exactly `size`, by binary search (sizes increase).
async fn find_head<P: alloy::providers::Provider>(
    c: &HealthLedgerInstance<P>,
    member: alloy::primitives::Address,
    count: u64,
    size: u64,
) -> Result<Option<(u64, [u8; 32])>> {
    let (mut lo, mut hi) = (0u64, count);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let (s, root) = head_at(c, member, mid).await?;
        match s.cmp(&size) {
            std::cmp::Ordering::Equal => return Ok(Some((mid, root))),
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
        }
    }
    Ok(None)
}

pub async fn verify_on_chain<P: alloy::providers::Provider>(
    c: &HealthLedgerInstance<P>,
    cp: &Checkpoint,
    key: &NoteVerifier,
    extension: Option<&AnchorConsistency>,
) -> Result<ChainVerdict> {
    let member = c
        .memberByOrigin(cp.origin.clone())
        .call()
        .await
        .context("reading memberByOrigin")?;
    if member.is_zero() {
        bail!("log '{}' is not registered on the contract", cp.origin);
    }
    let inst = c
        .institution(member)
        .call()
        .await
        .context("reading institution")?;
    if inst.ed25519Key.0 != key.key.to_bytes() {
        bail!(
            "the bundle is signed by {key}, which is not the key registered on chain for '{}'",
            cp.origin
        );
    }
    let member_status = match inst.status {
        1 => "active",
        2 => "suspended",
        _ => "unknown",
    };
    let count: u64 = c
        .headCount(member)
        .call()
        .await
        .context("reading headCount")?
        .try_into()
        .unwrap_or(u64::MAX);
    if count == 0 {
        bail!(
            "'{}' has anchored nothing yet: the checkpoint cannot be tied to the chain",
            cp.origin
        );
    }
    if let Some((index, root)) = find_head(c, member, count, cp.size).await? {
        if root != cp.root {
            bail!(
                "SPLIT VIEW: the chain holds root {} for size {} of '{}', the bundle's checkpoint has {}",
                hex::encode(root),
                cp.size,
                cp.origin,
                hex::encode(cp.root)
            );
        }
        return Ok(ChainVerdict {
            member: member.to_string(),
            member_status,
            head_index: index,
            head_size: cp.size,
            exact: true,
        });
    }
    let Some(ext) = extension else {
        bail!(
            "checkpoint size {} of '{}' is not an anchored head and the bundle carries no consistency proof from one",
            cp.size,
            cp.origin
        );
    };
    let Some((index, root)) = find_head(c, member, count, ext.old_size).await? else {
        bail!(
            "the bundle's consistency proof starts at size {}, which is not an anchored head of '{}'",
            ext.old_size,
            cp.origin
        );
    };
    let proof = ext
        .proof
        .iter()
        .map(|h| decode_hash(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    merkle::verify_consistency(ext.old_size, cp.size, &root, &cp.root, &proof).with_context(|| {
        format!("the checkpoint (size {}) is not a consistent extension of anchored head #{index} (size {})", cp.size, ext.old_size)
    })?;
    Ok(ChainVerdict {
        member: member.to_string(),
        member_status,
        head_index: index,
        head_size: ext.old_size,
        exact: false,
    })
}
