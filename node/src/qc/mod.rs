//! The node's QC loop: after records land, re-evaluate the residents they touch and append a
//! QC summary record for each resident whose status changed.

pub mod eval;
pub mod resolve;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{PoisonError, RwLock};

use anyhow::{Context, Result};
use hl_indexer::assess::{Assessment, Assessor};
use hl_indexer::events::{Event, EventBus};
use hl_indexer::summary::QcSummary;
use hl_indexer::tree::ResidentTree;
use hl_ledger::Ledger;
use hl_ledger::input::Prepared;
use hl_ledger::pseudonym::ResidentScope;
use time::OffsetDateTime;
use tokio::sync::{broadcast, watch};

/// Kind of the access-audit records the API appends on every read of a resident's data. They
/// change nothing QC looks at, and re-assessing a resident because someone read it would make
/// every read cost an assessment (and could append a QC summary per read).
pub const AUDIT_KIND: &str = "AuditEvent";

/// What one refresh did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Refresh {
    /// Residents re-evaluated.
    pub evaluated: usize,
    /// Summary records appended (residents whose status changed).
    pub appended: usize,
    /// Findings over the residents evaluated.
    pub findings: usize,
}

/// The last summary the log holds for `resident`, if any.
pub fn last_summary(ledger: &Ledger, resident: &str) -> Result<Option<QcSummary>> {
    let id = QcSummary::resource_id(resident);
    let Some((_, index)) = ledger.latest(hl_indexer::summary::SUMMARY_KIND, &id)? else {
        return Ok(None);
    };
    let Some(content) = ledger.record(index)?.and_then(|r| r.content) else {
        return Ok(None);
    };
    let v: serde_json::Value = serde_json::from_slice(&content)
        .with_context(|| format!("QC summary record {index} is not JSON"))?;
    // A summary the node cannot read is replaced by a fresh one rather than stopping QC.
    Ok(QcSummary::from_resource(&v).ok())
}

/// Assesses one resident and returns the assessment and the summary to append if its status
/// changed since the last summary in the log.
pub fn evaluate_resident(
    ledger: &Ledger,
    assessor: &Assessor,
    tree: &ResidentTree,
    at: OffsetDateTime,
) -> Result<(Assessment, Option<QcSummary>)> {
    let (a, summary, changed) = assess_resident(ledger, assessor, tree, at)?;
    Ok((a, changed.then_some(summary)))
}

/// Assesses one resident: the assessment, its summary, and whether the summary's status
/// differs from the last summary in the log.
fn assess_resident(
    ledger: &Ledger,
    assessor: &Assessor,
    tree: &ResidentTree,
    at: OffsetDateTime,
) -> Result<(Assessment, QcSummary, bool)> {
    let a = assessor.assess(tree, at);
    let summary = assessor.summary(tree, &a, at);
    let changed = match last_summary(ledger, &tree.pseudonym)? {
        Some(prev) => !summary.same_status(&prev),
        None => true,
    };
    Ok((a, summary, changed))
}

/// Appends `summaries` to the log in one submission (all or nothing).
pub fn append_summaries(ledger: &Ledger, summaries: &[QcSummary]) -> Result<usize> {
    if summaries.is_empty() {
        return Ok(0);
    }
    let records = summaries
        .iter()
        .map(|s| s.to_record(ResidentScope::Consortium))
        .collect::<Result<Vec<_>, _>>()?;
    let n = records.len();
    ledger
        .submit(Prepared {
            source_name: "qc-summary".into(),
            records,
        })
        .context("appending QC summary records")?;
    Ok(n)
}

/// Re-assesses `residents` (hex pseudonyms), each read from the log on its own, appends the
/// changed summaries and hands each resident's events to `on_events`. What `healthledger
/// ingest` runs after a file lands.
pub fn refresh_residents(
    ledger: &Ledger,
    assessor: &Assessor,
    residents: &[String],
    at: OffsetDateTime,
    mut on_events: impl FnMut(&str, Vec<Event>),
) -> Result<Refresh> {
    evaluate_residents(ledger, assessor, residents, at, |r, _, events| {
        on_events(r, events)
    })
}

/// [`refresh_residents`], handing each resident's summary (changed or not) along too.
fn evaluate_residents(
    ledger: &Ledger,
    assessor: &Assessor,
    residents: &[String],
    at: OffsetDateTime,
    mut on_evaluated: impl FnMut(&str, &QcSummary, Vec<Event>),
) -> Result<Refresh> {
    let mut out = Refresh::default();
    let mut changed = Vec::new();
    for r in residents {
        let tree = ResidentTree::from_log(ledger, r)?;
        let (a, summary, is_changed) = assess_resident(ledger, assessor, &tree, at)?;
        out.evaluated += 1;
        out.findings += a.findings.len();
        on_evaluated(r, &summary, a.events);
        if is_changed {
            changed.push(summary);
        }
    }
    out.appended = append_summaries(ledger, &changed)?;
    Ok(out)
}

/// A resident's status at its last evaluation by the node's QC pass.
#[derive(Debug, Clone)]
pub struct Evaluated {
    pub at: OffsetDateTime,
    pub summary: QcSummary,
}

/// What the node's QC pass leaves for readers (the HTTP API), so that they never wait for a
/// pass: each resident's last summary, whether the first pass over the log is done, and new
/// events as they arise.
pub struct QcShared {
    summaries: RwLock<BTreeMap<String, Evaluated>>,
    first_pass: watch::Sender<bool>,
    events: broadcast::Sender<Event>,
}

impl Default for QcShared {
    fn default() -> Self {
        Self::new()
    }
}

impl QcShared {
    pub fn new() -> Self {
        Self {
            summaries: RwLock::new(BTreeMap::new()),
            first_pass: watch::channel(false).0,
            events: broadcast::channel(1024).0,
        }
    }

    /// Every resident's last evaluation (a copy: the pass goes on meanwhile).
    pub fn summaries(&self) -> Vec<Evaluated> {
        let map = self
            .summaries
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        map.values().cloned().collect()
    }

    /// Marks the first pass over the log done (or QC off): the summaries cover every resident.
    pub fn mark_first_pass(&self) {
        self.first_pass.send_replace(true);
    }

    pub fn first_pass_done(&self) -> bool {
        *self.first_pass.borrow()
    }

    /// Resolves once the first pass is done.
    pub async fn first_pass(&self) {
        let mut rx = self.first_pass.subscribe();
        let _ = rx.wait_for(|done| *done).await;
    }

    /// Events new since each resident's previous evaluation, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    fn record(&self, resident: &str, at: OffsetDateTime, summary: &QcSummary, new: Vec<Event>) {
        let e = Evaluated {
            at,
            summary: summary.clone(),
        };
        self.summaries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(resident.to_owned(), e);
        for e in new {
            // No subscriber is not an error: nobody is listening.
            let _ = self.events.send(e);
        }
    }
}

/// The node's long-lived QC state: how far into the log it has looked and which residents
/// exist. Each evaluation reads the resident's tree from the log ([`ResidentTree::from_log`]),
/// so memory stays that of one resident however large the log grows.
pub struct QcState {
    pub assessor: Assessor,
    /// Records looked at so far.
    pub size: u64,
    pub residents: BTreeSet<String>,
    /// Residents' current events; subscribers get the new ones as they arise.
    pub events: EventBus,
    /// What readers see of each evaluation.
    pub shared: std::sync::Arc<QcShared>,
}

impl QcState {
    pub fn new(assessor: Assessor) -> Self {
        Self::with_shared(assessor, std::sync::Arc::new(QcShared::new()))
    }

    pub fn with_shared(assessor: Assessor, shared: std::sync::Arc<QcShared>) -> Self {
        Self {
            assessor,
            size: 0,
            residents: BTreeSet::new(),
            events: EventBus::new(),
            shared,
        }
    }

    /// Reads the envelopes appended since the last call; returns the residents their clinical
    /// records touch (the node's own QC summaries and access-audit records touch nobody:
    /// re-evaluating for them would change nothing).
    fn catch_up(&mut self, ledger: &Ledger) -> Result<Vec<String>> {
        let head = ledger.head()?.size;
        let mut touched = BTreeSet::new();
        scan(ledger, self.size..head, &mut self.residents, &mut touched)?;
        self.size = head;
        Ok(touched.into_iter().collect())
    }

    /// Re-evaluates every resident (after reading new records): what makes an obligation that
    /// fell due with time alone show up in the summaries.
    pub fn reevaluate_all(&mut self, ledger: &Ledger, at: OffsetDateTime) -> Result<Refresh> {
        self.catch_up(ledger)?;
        let all: Vec<String> = self.residents.iter().cloned().collect();
        self.evaluate(ledger, &all, at)
    }

    /// Reads the records appended since the last call, re-evaluates the residents they
    /// touched and appends the changed summaries.
    pub fn refresh(&mut self, ledger: &Ledger, at: OffsetDateTime) -> Result<Refresh> {
        let touched = self.catch_up(ledger)?;
        self.evaluate(ledger, &touched, at)
    }

    fn evaluate(
        &mut self,
        ledger: &Ledger,
        residents: &[String],
        at: OffsetDateTime,
    ) -> Result<Refresh> {
        let (bus, shared) = (&mut self.events, &self.shared);
        evaluate_residents(
            ledger,
            &self.assessor,
            residents,
            at,
            |r, summary, events| {
                let new = bus.publish(r, events);
                shared.record(r, at, summary, new);
            },
        )
    }
}

/// Reads the envelopes of the records at `indices`: every resident they name goes into
/// `residents`; those named by a clinical record (not the node's own QC summary nor an access
/// audit record) into `touched`.
fn scan(
    ledger: &Ledger,
    indices: impl IntoIterator<Item = u64>,
    residents: &mut BTreeSet<String>,
    touched: &mut BTreeSet<String>,
) -> Result<()> {
    for i in indices {
        let Some(rec) = ledger.record(i)? else {
            continue;
        };
        let env: hl_ledger::record::Envelope = serde_json::from_slice(&rec.envelope)
            .with_context(|| format!("record {i}: envelope"))?;
        if let Some(r) = env.resident {
            if !hl_indexer::summary::is_summary(&env.kind, &env.id) && env.kind != AUDIT_KIND {
                touched.insert(r.clone());
            }
            residents.insert(r);
        }
    }
    Ok(())
}

/// Every resident with a record in the log (one pass over the envelopes).
pub fn all_residents(ledger: &Ledger) -> Result<Vec<String>> {
    let mut residents = BTreeSet::new();
    scan(
        ledger,
        0..ledger.head()?.size,
        &mut residents,
        &mut BTreeSet::new(),
    )?;
    Ok(residents.into_iter().collect())
}

/// The residents (hex pseudonyms) that the clinical records at `indices` touch, sorted.
pub fn residents_of(
    ledger: &Ledger,
    indices: impl IntoIterator<Item = u64>,
) -> Result<Vec<String>> {
    let mut touched = BTreeSet::new();
    scan(ledger, indices, &mut BTreeSet::new(), &mut touched)?;
    Ok(touched.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hl_ledger::StoreOptions;
    use hl_ledger::input::InputOptions;
    use hl_ledger::note::NoteSigner;
    use hl_ledger::pseudonym::{Pseudonymizer, default_resident_systems};
    use time::macros::datetime;

    fn submit(ledger: &Ledger, v: serde_json::Value) {
        let input = InputOptions {
            max_bytes: 1 << 20,
            pseudonymizer: Pseudonymizer::new([7; 32], default_resident_systems(), "o".into()),
        };
        let p = input
            .prepare("t", &serde_json::to_vec(&v).expect("json"))
            .expect("valid");
        ledger.submit(p).expect("submitted");
    }

    #[test]
    fn refresh_appends_only_when_the_status_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let signer = NoteSigner::generate("test.example/qc").expect("signer");
        let ledger = Ledger::open(&dir.path().join("l.redb"), signer, StoreOptions::default())
            .expect("open");
        let at = datetime!(2025-01-01 0:00 UTC);
        let man = serde_json::json!({"resourceType": "Patient", "id": "p", "gender": "male",
            "birthDate": "1980-01-01", "name": [{"family": "王"}],
            "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": "110105198001010016"}]});
        submit(&ledger, man);
        let mut qc = QcState::new(Assessor::shipped().expect("assessor"));
        let events = qc.events.subscribe();
        let first = qc.refresh(&ledger, at).expect("refresh");
        assert_eq!((first.evaluated, first.appended), (1, 1));
        // The summary itself touches nobody: nothing to re-evaluate.
        let second = qc.refresh(&ledger, at).expect("refresh");
        assert_eq!((second.evaluated, second.appended), (0, 0));
        // Re-evaluating everyone at the same instant finds the status unchanged.
        let all = qc.reevaluate_all(&ledger, at).expect("all");
        assert_eq!((all.evaluated, all.appended), (1, 0));
        // A pregnancy diagnosis for the man changes the status.
        submit(
            &ledger,
            serde_json::json!({"resourceType": "Condition", "id": "c",
                "subject": {"reference": "Patient/p"}, "recordedDate": "2024-03-01",
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cn", "code": "O24.4"}]}}),
        );
        let fourth = qc.refresh(&ledger, at).expect("refresh");
        assert_eq!((fourth.evaluated, fourth.appended), (1, 1));
        assert!(fourth.findings >= 1);
        let resident = qc.residents.iter().next().expect("resident").clone();
        let last = last_summary(&ledger, &resident)
            .expect("read")
            .expect("a summary");
        assert!(last.failing.iter().any(|f| f.rule == "QC-X01"));
        assert!(last.score.is_some() && last.band.is_some());
        // Subscribers hear each event once, when it first arises.
        let heard: Vec<_> = events.try_iter().collect();
        assert_eq!(heard.len(), qc.events.list(&resident).len());
        // A later instant, same data: still unchanged.
        let later = qc
            .reevaluate_all(&ledger, datetime!(2025-01-02 0:00 UTC))
            .expect("all");
        assert_eq!((later.evaluated, later.appended), (1, 0));
    }

    #[test]
    fn access_audit_records_do_not_trigger_a_reassessment() {
        use hl_ledger::input::{PreparedRecord, ResidentRef};
        let dir = tempfile::tempdir().expect("tempdir");
        let signer = NoteSigner::generate("test.example/qc").expect("signer");
        let ledger = Ledger::open(&dir.path().join("l.redb"), signer, StoreOptions::default())
            .expect("open");
        let at = datetime!(2025-01-01 0:00 UTC);
        submit(
            &ledger,
            serde_json::json!({"resourceType": "Patient", "id": "p", "gender": "female",
                "birthDate": "1980-01-01",
                "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": "110105198001010016"}]}),
        );
        let mut qc = QcState::new(Assessor::shipped().expect("assessor"));
        let mut heard = qc.shared.subscribe();
        let first = qc.refresh(&ledger, at).expect("refresh");
        assert_eq!(first.evaluated, 1);
        let resident = qc.residents.iter().next().expect("resident").clone();
        let cached = qc.shared.summaries();
        assert_eq!(cached.len(), 1);
        assert_eq!(cached[0].summary.resident, resident);
        assert_eq!(cached[0].at, at);
        assert_eq!(
            Some(&cached[0].summary),
            last_summary(&ledger, &resident).expect("read").as_ref()
        );
        // The shared stream carries the same new events as the bus.
        let mut n = 0;
        while heard.try_recv().is_ok() {
            n += 1;
        }
        assert_eq!(n, qc.events.list(&resident).len());
        // What the API appends when someone reads the resident: no re-assessment, no summary.
        let mut pseudonym = [0u8; 32];
        hex::decode_to_slice(&resident, &mut pseudonym).expect("hex");
        let audit = serde_json::json!({"resourceType": "AuditEvent", "id": "a1", "action": "R"});
        let size = ledger.head().expect("head").size;
        ledger
            .submit(Prepared {
                source_name: "access audit".into(),
                records: vec![PreparedRecord {
                    kind: AUDIT_KIND.into(),
                    id: "a1".into(),
                    content: hl_ledger::canonical::to_canonical(&audit).expect("json"),
                    content_sha256: hl_ledger::canonical::canonical_sha256(&audit).expect("json"),
                    effective: None,
                    resident: ResidentRef::Known(pseudonym, ResidentScope::Institution),
                    position: None,
                }],
            })
            .expect("audit appended");
        let after = qc.refresh(&ledger, at).expect("refresh");
        assert_eq!((after.evaluated, after.appended), (0, 0));
        assert_eq!(ledger.head().expect("head").size, size + 1);
        assert!(residents_of(&ledger, [size]).expect("scan").is_empty());
        // A clinical record still does.
        submit(
            &ledger,
            serde_json::json!({"resourceType": "Condition", "id": "c",
                "subject": {"reference": "Patient/p"}, "recordedDate": "2024-03-01",
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cn", "code": "I10"}]}}),
        );
        assert_eq!(qc.refresh(&ledger, at).expect("refresh").evaluated, 1);
    }
}
