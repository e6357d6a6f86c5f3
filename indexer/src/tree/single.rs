//! One resident's tree read straight from the log, without building everyone's: what a command
//! that touches a few residents (ingest, `resident show`) needs on a log of millions.

use hl_ledger::Ledger;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Content, ResidentTree, ResourceKey, TreeError, read_record};

impl ResidentTree {
    /// The tree of resident `pseudonym` (hex) from its records in the log, in log order.
    ///
    /// Equal to the resident's part of [`super::KnowledgeTree::rebuild`] except when a resource
    /// moved between residents (a later version under another resident): this reads only the
    /// resident's own records, so it keeps the version it holds instead of losing it. Rules see
    /// the same resident either way unless a record was re-assigned.
    pub fn from_log(ledger: &Ledger, pseudonym: &str) -> Result<Self, TreeError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(pseudonym, &mut bytes).map_err(|_| TreeError::BadEnvelope {
            index: 0,
            reason: format!("{pseudonym:?} is not a hex pseudonym"),
        })?;
        let mut tree = Self::new(pseudonym);
        for index in ledger.resident_records(&bytes)? {
            let (rec, envelope) = read_record(ledger, index)?;
            let recorded = OffsetDateTime::parse(&envelope.recorded, &Rfc3339).ok();
            let (content, hash_ok) =
                Content::read_checked(rec.content.as_deref(), Some(&envelope.content_sha256));
            let key = ResourceKey::new(&envelope.kind, &envelope.id);
            tree.put(
                key.clone(),
                index,
                envelope.version,
                recorded,
                content,
                None,
            );
            if hash_ok == Some(false) {
                tree.mark_content_mismatch(&key, envelope.version);
            }
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
    use crate::tree::KnowledgeTree;

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
}
