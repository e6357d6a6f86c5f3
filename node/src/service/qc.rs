//! The QC service as the API sees it: the rule catalogue, one resident assessed now from the
//! log, the institution summary from what the node's QC pass already computed, and the pass's
//! new events as a broadcast.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result};
use async_trait::async_trait;
use hl_api::ports::{PortError, PortResult, Qc, QcEvent, RemoteRecord};
use hl_indexer::assess::Assessor;
use hl_indexer::events::Event;
use hl_indexer::score::{Band, Score};
use hl_indexer::tree::ResidentTree;
use hl_ledger::Ledger;
use hl_ledger::pseudonym::Pseudonym;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{broadcast, watch};

use crate::qc::QcShared;

/// Catalogue titles of the rules (DOMAIN.md §4), for the rule listing; the code knows ids,
/// levels, severities and parameters, not prose.
const TITLES: &[(&str, &str)] = &[
    ("QC-F01", "ID-card number valid"),
    ("QC-F02", "Archive number valid"),
    ("QC-F03", "Core demographics present"),
    ("QC-F04", "Required elements per kind"),
    ("QC-F05", "Coded with a recognised system"),
    ("QC-F06", "Unit allowed for code"),
    ("QC-F07", "Hard plausible range"),
    ("QC-F08", "No future-dated facts"),
    ("QC-R01", "BP panel coherent"),
    ("QC-R02", "Start ≤ end (discharge before admission)"),
    ("QC-R03", "BMI computed correctly"),
    (
        "QC-R04",
        "Status coherence (FHIR invariants plus project rules)",
    ),
    ("QC-R05", "ID card agrees with demographics"),
    ("QC-X01", "Pregnancy data for a male resident"),
    ("QC-X02", "Other sex-specific diagnoses or procedures"),
    ("QC-X03", "Pregnancy at implausible age"),
    (
        "QC-X04",
        "Programme enrolment without a qualifying diagnosis",
    ),
    (
        "QC-X05",
        "Qualifying diagnosis without enrolment (missed management)",
    ),
    ("QC-X06", "Programme age and sex eligibility"),
    (
        "QC-X07",
        "Antidiabetic therapy without a diabetes diagnosis",
    ),
    (
        "QC-X08",
        "Follow-up classification contradicts the measured values",
    ),
    ("QC-X09", "Observation ↔ encounter linkage"),
    ("QC-X10", "Duplicate facts within the resident"),
    ("QC-X11", "Elderly annual check content complete"),
    ("QC-X12", "Deceased resident with open programme episodes"),
    ("QC-T01", "Event before birth"),
    ("QC-T02", "Event after death (from any node)"),
    ("QC-T03", "HTN follow-up cadence"),
    ("QC-T04", "T2D follow-up cadence with glucose"),
    ("QC-T05", "Glycaemic monitoring gap"),
    ("QC-T06", "Uncontrolled → 2-week revisit"),
    ("QC-T07", "Referral → active follow-up within 2 weeks"),
    ("QC-T08", "Annual health check for key populations"),
    ("QC-T09", "Child check-up schedule"),
    ("QC-T10", "Vaccine given before the minimum age"),
    ("QC-T11", "Dose order and minimum interval"),
    ("QC-T12", "Vaccine overdue"),
    ("QC-T13", "Antenatal schedule"),
    ("QC-T14", "Postpartum visits"),
    ("QC-T15", "Pregnancy timeline plausibility"),
    ("QC-T16", "SMI follow-up cadence and risk-driven interval"),
    ("QC-T17", "TB case management timing"),
    ("QC-T18", "Dormant archive (死档)"),
    ("QC-T19", "Programme service before diagnosis or enrolment"),
    ("QC-T20", "Child growth trajectory"),
    (
        "QC-I01",
        "Same person, conflicting birth date or gender across nodes",
    ),
    ("QC-I02", "Multiple active archive numbers for one person"),
    ("QC-I03", "Double-counted programme service"),
    (
        "QC-I04",
        "Concurrent enrolment at two managing organisations",
    ),
    ("QC-I05", "Contradictory chronic-disease facts across nodes"),
    ("QC-I06", "Ledger integrity of a record version"),
    ("QC-I07", "Unresolvable cross-node references"),
];

type Slot = Arc<Mutex<Option<broadcast::Sender<QcEvent>>>>;

pub struct QcPort {
    ledger: Arc<Ledger>,
    assessor: Arc<Assessor>,
    shared: Arc<QcShared>,
    enabled: bool,
    /// This institution's name, for the consortium view.
    institution: String,
    rules: Value,
    /// Taken (dropped) when the node stops, so that open event streams end and the server's
    /// graceful shutdown is not held up by them.
    events: Slot,
}

impl QcPort {
    /// The port over the node's QC pass (`shared`). Spawns the task that hands the pass's new
    /// events to subscribers until `stop`, so it must be called inside the runtime.
    pub fn new(
        ledger: Arc<Ledger>,
        shared: Arc<QcShared>,
        enabled: bool,
        institution: String,
        stop: watch::Receiver<bool>,
    ) -> Result<Self> {
        let assessor = Arc::new(crate::commands::qc::assessor()?);
        let rules = catalogue(&assessor)?;
        let events: Slot = Arc::new(Mutex::new(Some(broadcast::channel(1024).0)));
        tokio::spawn(forward(shared.subscribe(), events.clone(), stop));
        Ok(Self {
            ledger,
            assessor,
            shared,
            enabled,
            institution,
            rules,
            events,
        })
    }
}

/// The pass's events, as the API shows them, until the node stops.
async fn forward(mut from: broadcast::Receiver<Event>, to: Slot, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            r = from.recv() => match r {
                Ok(e) => {
                    if let Some(tx) = to.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
                        // No subscriber is not an error.
                        let _ = tx.send(qc_event(&e));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "QC event stream fell behind; events dropped");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    to.lock().unwrap_or_else(PoisonError::into_inner).take();
}

pub fn qc_event(e: &Event) -> QcEvent {
    QcEvent {
        resident: e.resident.clone(),
        event: crate::commands::resident::event_json(e),
    }
}

/// The rule listing: what `healthledger qc rules --json` shows, with titles and parameters.
fn catalogue(assessor: &Assessor) -> Result<Value> {
    let params: toml::Table = hl_indexer::qc::DEFAULT_PARAMS
        .parse()
        .context("reading the shipped QC parameters")?;
    let version = &assessor.engine.params.version;
    let rules = assessor
        .engine
        .rules
        .iter()
        .map(|r| {
            let id = r.id();
            let section = id.strip_prefix("QC-").and_then(|s| params.get(s));
            Ok(json!({
                "id": id,
                "level": format!("{:?}", r.level()),
                "severity": format!("{:?}", r.severity()),
                "description": TITLES.iter().find(|(t, _)| *t == id).map(|(_, d)| *d),
                "parameters": match section {
                    Some(s) => serde_json::to_value(s).with_context(|| format!("{id} parameters"))?,
                    None => json!({}),
                },
                "regional_defaults": r.defaults(),
                // The I rules need several institutions' records: they run over the consortium
                // view (`/v1/qc/residents/{r}?scope=consortium`), not per resident.
                "scope": if r.consortium().is_some() { "consortium" } else { "resident" },
                "params_version": version,
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Value::Array(rules))
}

fn internal(e: impl std::fmt::Display) -> PortError {
    PortError::Internal(e.to_string())
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

#[async_trait]
impl Qc for QcPort {
    fn rules(&self) -> Value {
        self.rules.clone()
    }

    async fn resident(&self, pseudonym: &Pseudonym) -> PortResult<Value> {
        let (ledger, assessor) = (self.ledger.clone(), self.assessor.clone());
        let resident = hex::encode(pseudonym);
        tokio::task::spawn_blocking(move || {
            let at = OffsetDateTime::now_utc();
            let tree = ResidentTree::from_log(&ledger, &resident).map_err(internal)?;
            let a = assessor.assess(&tree, at);
            let mut v = crate::commands::resident::assessment_json(&a);
            v["resident"] = json!(resident);
            v["at"] = json!(rfc3339(at));
            v["records"] = json!(tree.records.len());
            Ok(v)
        })
        .await
        .map_err(internal)?
    }

    async fn consortium(
        &self,
        pseudonym: &Pseudonym,
        remote: &[RemoteRecord],
    ) -> PortResult<Value> {
        let (ledger, assessor) = (self.ledger.clone(), self.assessor.clone());
        let (resident, remote) = (hex::encode(pseudonym), remote.to_vec());
        let institution = self.institution.clone();
        tokio::task::spawn_blocking(move || {
            let at = OffsetDateTime::now_utc();
            super::qc_consortium::assess(&ledger, &assessor, &institution, &resident, &remote, at)
                .map_err(internal)
        })
        .await
        .map_err(internal)?
    }

    async fn summary(&self) -> PortResult<Value> {
        if !self.enabled {
            return Err(PortError::NotConfigured(
                "QC is off on this node (qc.enabled = false)".into(),
            ));
        }
        if !self.shared.first_pass_done() {
            return Err(PortError::Unavailable(
                "the first QC pass over the log is still running".into(),
            ));
        }
        summary(&self.assessor, &self.shared.summaries())
    }

    fn subscribe(&self) -> broadcast::Receiver<QcEvent> {
        match self
            .events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            Some(tx) => tx.subscribe(),
            // The node is stopping: a stream that ends at once.
            None => broadcast::channel(1).1,
        }
    }
}

/// The institution summary from each resident's last evaluation, in the shape of `healthledger
/// qc report --json` (counts per rule, completeness) without the findings themselves.
fn summary(assessor: &Assessor, evaluated: &[crate::qc::Evaluated]) -> PortResult<Value> {
    // A rule may fail with more than one severity for one resident: residents are counted once.
    let mut per_rule: BTreeMap<&str, (&str, usize, BTreeSet<&str>)> = BTreeMap::new();
    let mut per_severity: BTreeMap<&str, (usize, BTreeSet<&str>)> = BTreeMap::new();
    let mut scores = Vec::with_capacity(evaluated.len());
    for e in evaluated {
        let s = &e.summary;
        for f in &s.failing {
            let r = per_rule
                .entry(&f.rule)
                .or_insert((&f.severity, 0, BTreeSet::new()));
            r.1 += f.findings;
            r.2.insert(&s.resident);
            let sev = per_severity.entry(&f.severity).or_default();
            sev.0 += f.findings;
            sev.1.insert(&s.resident);
        }
        if let (Some(value), Some(band)) = (s.score, &s.band) {
            let band: Band = serde_json::from_value(json!(band))
                .map_err(|_| internal(format!("resident {}: unknown band {band}", s.resident)))?;
            scores.push(Score {
                resident: s.resident.clone(),
                at: e.at,
                value,
                band,
                modules: Vec::new(),
            });
        }
    }
    let c = assessor.scorer.summary(&scores);
    let oldest = evaluated.iter().map(|e| e.at).min();
    let newest = evaluated.iter().map(|e| e.at).max();
    Ok(json!({
        "as_of": oldest.map(rfc3339),
        "evaluated_from": oldest.map(rfc3339),
        "evaluated_to": newest.map(rfc3339),
        "params_version": assessor.engine.params.version,
        "residents": evaluated.len(),
        "completeness": {
            "scored": c.count,
            "mean": c.mean,
            "incomplete_share": c.incomplete_share,
            "bands": c.bands.iter().map(|(b, n)| (format!("{b:?}"), *n)).collect::<BTreeMap<_, _>>(),
        },
        "severities": per_severity.iter().map(|(sev, (n, rs))| {
            json!({"severity": sev, "findings": n, "residents": rs.len()})
        }).collect::<Vec<_>>(),
        "rules": per_rule.iter().map(|(id, (sev, n, rs))| {
            json!({"rule": id, "severity": sev, "findings": n, "residents": rs.len()})
        }).collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_a_title_and_its_parameters() {
        let assessor = crate::commands::qc::assessor().expect("assessor");
        let rules = catalogue(&assessor).expect("catalogue");
        let rules = rules.as_array().expect("array");
        assert_eq!(rules.len(), assessor.engine.rules.len());
        for r in rules {
            assert!(r["description"].is_string(), "{r}");
        }
        let f07 = rules.iter().find(|r| r["id"] == "QC-F07").expect("F07");
        assert!(f07["parameters"]["ranges"].is_array(), "{f07}");
    }
}
