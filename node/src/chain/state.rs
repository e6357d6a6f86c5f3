//! What this node has anchored, kept in `anchors.redb` in the data dir: one row per anchored
//! head, written only after the transaction has its confirmations.

use std::path::Path;

use anyhow::{Context, Result};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

const ANCHORS: TableDefinition<u64, &[u8]> = TableDefinition::new("anchors");
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

pub struct AnchorState {
    db: Database,
}

impl AnchorState {
    pub fn open(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join(ANCHORS_FILE);
        let db = Database::create(&path).with_context(|| format!("opening {}", path.display()))?;
        let txn = db.begin_write()?;
        txn.open_table(ANCHORS)?;
        txn.commit()?;
        Ok(Self { db })
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
        Ok(())
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
}
