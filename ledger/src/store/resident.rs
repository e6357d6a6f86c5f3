//! A resident's records read in one snapshot, for services that page through a resident's
//! history (`$everything`, searches): one read transaction instead of two per record.

use redb::ReadableDatabase;

use super::tables::*;
use super::{Ledger, StoreError, StoredRecord};
use crate::pseudonym::Pseudonym;
use crate::record::Envelope;

/// One of a resident's records with its parsed envelope.
#[derive(Debug, Clone)]
pub struct ResidentRecord {
    pub record: StoredRecord,
    pub envelope: Envelope,
    /// Leaf index of the next version of the same resource, if one exists (at any size).
    pub next_version: Option<u64>,
}

impl ResidentRecord {
    /// Whether this is the newest version of its resource among the first `size` leaves.
    pub fn is_latest_at(&self, size: u64) -> bool {
        self.next_version.is_none_or(|i| i >= size)
    }
}

impl Ledger {
    /// The resident's records among the first `size` leaves, in log order, from one snapshot.
    pub fn resident_snapshot(
        &self,
        resident: &Pseudonym,
        size: u64,
    ) -> Result<Vec<ResidentRecord>, StoreError> {
        self.resident_snapshot_where(resident, size, |_| true)
    }

    /// [`Ledger::resident_snapshot`] of the records whose envelope `keep` accepts. The others
    /// are passed over before their content is copied: every read of a resident appends an
    /// AuditEvent naming what it read (tens of KB for a large read), so a resident read often
    /// has far more bytes of audits than of care records, and readers of care records skip them.
    pub fn resident_snapshot_where(
        &self,
        resident: &Pseudonym,
        size: u64,
        keep: impl Fn(&Envelope) -> bool,
    ) -> Result<Vec<ResidentRecord>, StoreError> {
        let txn = self.db.begin_read()?;
        let by_resident = txn.open_table(RESIDENT_RECORDS)?;
        let records = txn.open_table(RECORDS)?;
        let versions = txn.open_table(VERSIONS)?;
        let mut out = Vec::new();
        for row in by_resident.range((*resident, 0)..(*resident, size))? {
            let index = row?.0.value().1;
            let value = records.get(index)?.ok_or_else(|| {
                StoreError::Corrupt(format!("resident index names missing leaf {index}"))
            })?;
            let (env, content) = decode_record(value.value())
                .ok_or_else(|| StoreError::Corrupt(format!("record {index} is malformed")))?;
            let envelope: Envelope = serde_json::from_slice(env)
                .map_err(|e| StoreError::Corrupt(format!("record {index}: envelope: {e}")))?;
            if !keep(&envelope) {
                continue;
            }
            let next_version = match envelope.version.checked_add(1) {
                None => None,
                Some(v) => match versions.get((resource_key(&envelope.kind, &envelope.id), v))? {
                    None => None,
                    Some(s) => Some(
                        ResourceState::decode(s.value())
                            .ok_or_else(|| {
                                StoreError::Corrupt(format!(
                                    "bad version entry for {}/{}",
                                    envelope.kind, envelope.id
                                ))
                            })?
                            .index,
                    ),
                },
            };
            out.push(ResidentRecord {
                record: StoredRecord {
                    index,
                    envelope: env.to_vec(),
                    content: content.map(<[u8]>::to_vec),
                },
                envelope,
                next_version,
            });
        }
        Ok(out)
    }
}
