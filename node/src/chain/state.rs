//! What this node has anchored, kept in `anchors.redb` in the data dir: one row per anchored
//! head, written only after the transaction has its confirmations.

use std::path::Path;

use anyhow::{Context, Result};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

const ANCHORS: TableDefinition<u64, &[u8]> = TableDefinition::new("anchors");
/// At most one row: the anchor transaction sent and not yet seen confirmed, written before the
/// node waits for it, so that a restart waits for that transaction instead of sending another.
const PENDING: TableDefinition<u8, &[u8]> = TableDefinition::new("pending");
pub const ANCHORS_FILE: &str = "anchors.redb";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorRecord {
    pub size: u64,
    pub root: String,
    pub tx_hash: String,
    pub block_number: u64,
    pub block_hash: String,
    pub gas_used: u64,
    /// RFC 3339 UTC time the node saw the confirmations.
    pub confirmed_at: String,
}

/// An anchor transaction that was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAnchor {
    pub size: u64,
    pub root: String,
    pub tx_hash: String,
}

pub struct AnchorState {
    db: Database,
    /// Woken by every [`AnchorState::record`], so the gossip announces a new head at once
    /// rather than at its next poll.
    recorded: tokio::sync::Notify,
}

impl AnchorState {
    pub fn open(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join(ANCHORS_FILE);
        let db = Database::create(&path).with_context(|| format!("opening {}", path.display()))?;
        let txn = db.begin_write()?;
        txn.open_table(ANCHORS)?;
        txn.open_table(PENDING)?;
        txn.commit()?;
        Ok(Self {
            db,
            recorded: tokio::sync::Notify::new(),
        })
    }

    pub fn set_pending(&self, p: Option<&PendingAnchor>) -> Result<()> {
        let txn = self.db.begin_write()?;
        {
            let mut t = txn.open_table(PENDING)?;
            match p {
                Some(p) => {
                    t.insert(0, serde_json::to_vec(p)?.as_slice())?;
                }
                None => {
                    t.remove(0)?;
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    pub fn pending(&self) -> Result<Option<PendingAnchor>> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(PENDING)?;
        match t.get(0)? {
            None => Ok(None),
            Some(v) => Ok(Some(
                serde_json::from_slice(v.value()).context("anchors.redb")?,
            )),
        }
    }

    /// The last anchor recorded in `data_dir`, without creating the file when there is none.
    pub fn last_in(data_dir: &Path) -> Result<Option<AnchorRecord>> {
        if !data_dir.join(ANCHORS_FILE).exists() {
            return Ok(None);
        }
        Self::open(data_dir)?.last()
    }

    pub fn record(&self, r: &AnchorRecord) -> Result<()> {
        let txn = self.db.begin_write()?;
        txn.open_table(ANCHORS)?
            .insert(r.size, serde_json::to_vec(r)?.as_slice())?;
        txn.commit()?;
        self.recorded.notify_waiters();
        Ok(())
    }

    /// Completes at the next [`AnchorState::record`] (create it before checking what is
    /// recorded, so that a record in between is not missed).
    pub fn recorded(&self) -> tokio::sync::futures::Notified<'_> {
        self.recorded.notified()
    }

    pub fn last(&self) -> Result<Option<AnchorRecord>> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(ANCHORS)?;
        match t.last()? {
            None => Ok(None),
            Some((_, v)) => Ok(Some(
                serde_json::from_slice(v.value()).context("anchors.redb")?,
            )),
        }
    }

    /// Every anchored head, oldest (smallest) first.
    pub fn all(&self) -> Result<Vec<AnchorRecord>> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(ANCHORS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (_, v) = row?;
            out.push(serde_json::from_slice(v.value()).context("anchors.redb")?);
        }
        Ok(out)
    }
}
