//! One resident's tree without building everyone's: read straight from the log, which is what
//! a command that touches a few residents (ingest, `resident show`) needs on a log of millions,
//! or from records another institution sent for the resident (the consortium view).

use hl_ledger::Ledger;
use hl_ledger::record::Envelope;

use super::{Incoming, ResidentTree, TreeError, read_record};

/// The 32 bytes of a hex pseudonym.
fn pseudonym_bytes(pseudonym: &str) -> Result<[u8; 32], TreeError> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(pseudonym, &mut bytes).map_err(|_| TreeError::BadEnvelope {
        index: 0,
        reason: format!("{pseudonym:?} is not a hex pseudonym"),
    })?;
    Ok(bytes)
}

impl ResidentTree {
    /// The tree of resident `pseudonym` (hex) from its records in the log, in log order.
    ///
    /// Equal to the resident's part of [`super::KnowledgeTree::rebuild`] except when a resource
    /// moved between residents (a later version under another resident): this reads only the
    /// resident's own records, so it keeps the version it holds instead of losing it. Rules see
    /// the same resident either way unless a record was re-assigned.
    pub fn from_log(ledger: &Ledger, pseudonym: &str) -> Result<Self, TreeError> {
        let bytes = pseudonym_bytes(pseudonym)?;
        let mut tree = Self::new(pseudonym);
        for index in ledger.resident_records(&bytes)? {
            let (rec, envelope) = read_record(ledger, index)?;
            tree.put_incoming(
                index,
                Incoming::read(&envelope, rec.content.as_deref()),
                None,
            );
        }
        tree.reindex();
        Ok(tree)
    }

    /// The tree of resident `pseudonym` (hex) from records of one log given as (leaf index in
    /// that log, envelope, content bytes or `None` if erased), e.g. the verified records
    /// another institution sent. Each content is checked against its envelope's hash as in
    /// [`ResidentTree::from_log`] (a mismatch is kept and marked, for QC-I06). The order does
    /// not matter: the highest version of a resource is its latest whatever order it came in.
    ///
    /// A record of another resident (or of none) is refused rather than dropped: handing one
    /// in is the caller's error, and silently merging residents is what QC exists to prevent.
    pub fn from_records<'a>(
        pseudonym: &str,
        records: impl IntoIterator<Item = (u64, &'a Envelope, Option<&'a [u8]>)>,
    ) -> Result<Self, TreeError> {
        pseudonym_bytes(pseudonym)?;
        let mut tree = Self::new(pseudonym);
        for (index, envelope, content) in records {
            if !envelope
                .resident
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(pseudonym))
            {
                return Err(TreeError::OtherResident {
                    index,
                    expected: pseudonym.to_owned(),
                    found: envelope.resident.clone(),
                });
            }
            tree.put_incoming(index, Incoming::read(envelope, content), None);
        }
        tree.reindex();
        Ok(tree)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testutil::{open_ledger, submit};
    use crate::tree::{KnowledgeTree, ResourceKey};

    #[test]
    fn one_resident_from_the_log_equals_its_part_of_a_rebuild() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ledger = open_ledger(&dir);
        let patient = |id: &str, ssn: &str| {
            json!({"resourceType": "Patient", "id": id, "gender": "male", "birthDate": "1960-02-03",
                   "identifier": [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": ssn}]})
        };
        let enc = |id: &str, pat: &str| {
            json!({"resourceType": "Encounter", "id": id, "status": "finished",
                   "subject": {"reference": format!("Patient/{pat}")},
                   "period": {"start": "2024-01-01"}})
        };
        submit(&ledger, &[patient("a", "111-11-1111"), enc("e1", "a")]);
        submit(&ledger, &[patient("b", "222-22-2222"), enc("e2", "b")]);
        submit(&ledger, &[enc("e1", "a"), enc("e3", "a")]);
        let all = KnowledgeTree::rebuild(&ledger).expect("rebuild");
        assert_eq!(all.residents().count(), 2);
        for r in all.residents() {
            let one = ResidentTree::from_log(&ledger, &r.pseudonym).expect("one resident");
            assert_eq!(&one, r);
        }
        assert!(ResidentTree::from_log(&ledger, "zz").is_err());
        let nobody = ResidentTree::from_log(&ledger, &"00".repeat(32)).expect("empty");
        assert_eq!(nobody.records.len(), 0);
    }

    #[test]
    fn records_sent_by_another_log_build_the_same_tree_and_are_hash_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ledger = open_ledger(&dir);
        let obs = |v: u32| {
            json!({"resourceType": "Observation", "id": "o", "status": "final",
                   "subject": {"reference": "Patient/a"}, "effectiveDateTime": "2024-05-01",
                   "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                   "valueQuantity": {"value": v, "code": "/min"}})
        };
        submit(
            &ledger,
            &[
                json!({"resourceType": "Patient", "id": "a", "gender": "male",
                       "identifier": [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": "111-11-1111"}]}),
                obs(70),
            ],
        );
        submit(&ledger, &[obs(72)]);
        let all = KnowledgeTree::rebuild(&ledger).expect("rebuild");
        let resident = all
            .residents()
            .next()
            .expect("one resident")
            .pseudonym
            .clone();
        let mut read: Vec<(u64, Envelope, Vec<u8>)> = (0..ledger.head().expect("head").size)
            .map(|i| {
                let (rec, env) = read_record(&ledger, i).expect("record");
                (i, env, rec.content.expect("content"))
            })
            .collect();
        // Sent newest first: the tree still keeps version 2 as the latest.
        read.reverse();
        let sent = |read: &[(u64, Envelope, Vec<u8>)]| {
            ResidentTree::from_records(
                &resident,
                read.iter().map(|(i, e, c)| (*i, e, Some(c.as_slice()))),
            )
        };
        let tree = sent(&read).expect("tree");
        assert_eq!(
            tree,
            ResidentTree::from_log(&ledger, &resident).expect("from log")
        );
        let o = tree
            .resource(&ResourceKey::new("Observation", "o"))
            .expect("o");
        assert_eq!((o.version, o.content_mismatch.len()), (2, 0));

        // Content that is not what the envelope hashed is kept, and marked.
        let changed = serde_json::to_vec(&obs(99)).expect("json");
        let at = read
            .iter()
            .position(|(_, e, _)| e.version == 2)
            .expect("v2");
        read[at].2 = changed;
        let tree = sent(&read).expect("tree");
        let o = tree
            .resource(&ResourceKey::new("Observation", "o"))
            .expect("o");
        assert_eq!(o.content_mismatch.iter().copied().collect::<Vec<_>>(), [2]);

        // A record of another resident is refused, as is a pseudonym that is not hex.
        read[0].1.resident = Some("11".repeat(32));
        assert!(matches!(
            sent(&read),
            Err(TreeError::OtherResident { index, .. }) if index == read[0].0
        ));
        assert!(ResidentTree::from_records("zz", []).is_err());
    }
}
