//! Record locators: which member holds how many records of a resident, per category. A
//! locator carries the resident's consortium pseudonym and counts only — never content, never
//! identifiers. Each node counts its own log (new records only, as they are ingested), gossips
//! the residents whose counts changed, and keeps the consortium-wide index of everyone's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hl_ledger::Ledger;
use hl_ledger::pseudonym::ResidentScope;
use hl_ledger::record::Envelope;
use libp2p::PeerId;
use serde::{Deserialize, Serialize};

use super::gossip::{GossipError, Registry, write_atomic};
use crate::net::identity::key_of_peer;

pub const LOCATORS_FILE: &str = "consortium-locators.json";
/// Number of record categories (see [`category_of`]).
pub const CATEGORIES: usize = 7;
/// Records of one resident held by one member, per category.
pub type Counts = [u32; CATEGORIES];
/// Most locators in one gossip message (about 150 bytes each in JSON).
pub const MAX_ENTRIES: usize = 2000;
/// Most log records counted per scan, so one pass stays short.
const SCAN_BATCH: u64 = 20_000;

/// The record category of a FHIR resource kind, as consent and record fetch use it:
///
/// | category | kinds |
/// |---|---|
/// | 0 | demographics and encounters: Patient, Encounter, EpisodeOfCare, RelatedPerson, Coverage, Appointment |
/// | 1 | observations and diagnostics: Observation, DiagnosticReport, ImagingStudy, Specimen, MolecularSequence, RiskAssessment, ClinicalImpression |
/// | 2 | conditions and problems: Condition, AllergyIntolerance, FamilyMemberHistory, AdverseEvent, Flag, DetectedIssue |
/// | 3 | medications: Medication*, including MedicationRequest, -Administration, -Dispense, -Statement |
/// | 4 | immunizations: Immunization, ImmunizationEvaluation, ImmunizationRecommendation |
/// | 5 | procedures, care plans and requests: Procedure, CarePlan, CareTeam, Goal, ServiceRequest, DeviceRequest, NutritionOrder, Task, Claim, ExplanationOfBenefit |
/// | 6 | documents and everything else: DocumentReference, Composition, … |
pub fn category_of(kind: &str) -> u8 {
    match kind {
        "Patient" | "Encounter" | "EpisodeOfCare" | "RelatedPerson" | "Coverage"
        | "Appointment" => 0,
        "Observation" | "DiagnosticReport" | "ImagingStudy" | "Specimen" | "MolecularSequence"
        | "RiskAssessment" | "ClinicalImpression" => 1,
        "Condition"
        | "AllergyIntolerance"
        | "FamilyMemberHistory"
        | "AdverseEvent"
        | "Flag"
        | "DetectedIssue" => 2,
        k if k.starts_with("Medication") => 3,
        "Immunization" | "ImmunizationEvaluation" | "ImmunizationRecommendation" => 4,
        "Procedure"
        | "CarePlan"
        | "CareTeam"
        | "Goal"
        | "ServiceRequest"
        | "DeviceRequest"
        | "NutritionOrder"
        | "Task"
        | "Claim"
        | "ExplanationOfBenefit" => 5,
        _ => 6,
    }
}

/// Whether a log record counts as a record held for its resident. Access audit events and
/// this node's QC summaries are about reading and checking, not care: counting them would tell
/// the consortium each time a resident's data was read.
fn counted(env: &Envelope) -> bool {
    env.resident.is_some()
        // An institution-scoped pseudonym means nothing at another member.
        && env.resident_scope == Some(ResidentScope::Consortium)
        // A new version of a resource is the same record.
        && env.version == 1
        && env.kind != crate::qc::AUDIT_KIND
        && !(env.kind == hl_indexer::summary::SUMMARY_KIND && env.id.starts_with("qc-"))
}

/// One resident's records at the announcing member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Locator {
    /// Hex of the 32-byte consortium pseudonym.
    pub resident: String,
    pub counts: Counts,
}

/// What a member publishes on [`crate::net::Topic::Locators`] (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocatorAnnouncement {
    /// The holder's log origin.
    pub origin: String,
    pub entries: Vec<Locator>,
}

fn is_pseudonym(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct IndexState {
    /// pseudonym → holder origin → counts, for other members.
    remote: BTreeMap<String, BTreeMap<String, Counts>>,
    /// This node's own counts, and how far its log has been counted.
    own: BTreeMap<String, Counts>,
    scanned: u64,
    /// origin → peer id of the member that announced it (checked against the registry), so
    /// that a holder named by origin can be asked.
    #[serde(default)]
    peers: BTreeMap<String, String>,
}

/// The consortium-wide locator index, kept in [`LOCATORS_FILE`].
pub struct LocatorIndex {
    path: PathBuf,
    state: Mutex<IndexState>,
    dirty: Mutex<bool>,
}

impl LocatorIndex {
    pub fn open(data_dir: &Path) -> Result<Self, GossipError> {
        let path = data_dir.join(LOCATORS_FILE);
        let state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| GossipError::Store(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => IndexState::default(),
            Err(e) => return Err(GossipError::Store(format!("{}: {e}", path.display()))),
        };
        Ok(Self {
            path,
            state: Mutex::new(state),
            dirty: Mutex::new(false),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IndexState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn mark_dirty(&self) {
        *self.dirty.lock().unwrap_or_else(|p| p.into_inner()) = true;
    }

    /// Which members hold records of `resident` (hex pseudonym), with their counts; this node
    /// included, under `own_origin`.
    pub fn holders(&self, resident: &str, own_origin: &str) -> BTreeMap<String, Counts> {
        let st = self.lock();
        let mut out = st.remote.get(resident).cloned().unwrap_or_default();
        if let Some(c) = st.own.get(resident) {
            out.insert(own_origin.to_owned(), *c);
        }
        out
    }

    /// The peer that announced locators for `origin`.
    pub fn peer_of(&self, origin: &str) -> Option<PeerId> {
        self.lock().peers.get(origin).and_then(|p| p.parse().ok())
    }

    /// Number of residents other members hold records of.
    pub fn remote_residents(&self) -> usize {
        self.lock().remote.len()
    }

    /// Checks and applies one announcement gossiped by `author`.
    pub async fn receive(
        &self,
        author: PeerId,
        data: &[u8],
        registry: &dyn Registry,
    ) -> Result<usize, GossipError> {
        let ann: LocatorAnnouncement = serde_json::from_slice(data)
            .map_err(|e| GossipError::Refused(format!("not a locator announcement: {e}")))?;
        if ann.entries.len() > MAX_ENTRIES {
            return Err(GossipError::Refused(format!(
                "{} locators in one message, over {MAX_ENTRIES}",
                ann.entries.len()
            )));
        }
        if let Some(bad) = ann.entries.iter().find(|e| !is_pseudonym(&e.resident)) {
            return Err(GossipError::Refused(format!(
                "{:?} is not a pseudonym (64 lowercase hex digits)",
                bad.resident
            )));
        }
        let key = key_of_peer(&author)
            .ok_or_else(|| GossipError::Refused("author is not an Ed25519 peer".into()))?;
        match registry.origin_of(&key).await? {
            Some(o) if o == ann.origin => {}
            Some(o) => {
                return Err(GossipError::Refused(format!(
                    "locators for {:?} from the member of {o:?}",
                    ann.origin
                )));
            }
            None => return Err(GossipError::Refused("author is not registered".into())),
        }
        let mut st = self.lock();
        st.peers.insert(ann.origin.clone(), author.to_string());
        for e in &ann.entries {
            if e.counts.iter().all(|&c| c == 0) {
                if let Some(h) = st.remote.get_mut(&e.resident) {
                    h.remove(&ann.origin);
                    if h.is_empty() {
                        st.remote.remove(&e.resident);
                    }
                }
            } else {
                st.remote
                    .entry(e.resident.clone())
                    .or_default()
                    .insert(ann.origin.clone(), e.counts);
            }
        }
        drop(st);
        self.mark_dirty();
        Ok(ann.entries.len())
    }

    /// Counts the records appended to `ledger` since the last scan (up to a batch); returns
    /// the residents whose counts changed, with their new counts.
    pub fn scan(&self, ledger: &Ledger) -> Result<Vec<Locator>, GossipError> {
        let size = ledger
            .head()
            .map_err(|e| GossipError::Store(e.to_string()))?
            .size;
        let from = self.lock().scanned;
        if from >= size {
            return Ok(Vec::new());
        }
        let to = size.min(from + SCAN_BATCH);
        let mut added: BTreeMap<String, Counts> = BTreeMap::new();
        for i in from..to {
            let rec = ledger
                .record(i)
                .map_err(|e| GossipError::Store(e.to_string()))?
                .ok_or_else(|| GossipError::Store(format!("record {i} missing below the head")))?;
            let env: Envelope = serde_json::from_slice(&rec.envelope)
                .map_err(|e| GossipError::Store(format!("record {i}'s envelope: {e}")))?;
            if !counted(&env) {
                continue;
            }
            if let Some(r) = env.resident {
                added.entry(r).or_default()[usize::from(category_of(&env.kind))] += 1;
            }
        }
        let mut st = self.lock();
        let mut changed = Vec::with_capacity(added.len());
        for (resident, add) in added {
            let c = st.own.entry(resident.clone()).or_default();
            for (have, more) in c.iter_mut().zip(add) {
                *have = have.saturating_add(more);
            }
            changed.push(Locator {
                resident,
                counts: *c,
            });
        }
        st.scanned = to;
        drop(st);
        self.mark_dirty();
        Ok(changed)
    }

    /// Up to `max` of this node's own locators, starting after `cursor` and wrapping around;
    /// returns them with the cursor for the next round.
    pub fn own_page(&self, cursor: Option<&str>, max: usize) -> (Vec<Locator>, Option<String>) {
        let st = self.lock();
        let after = cursor.map_or_else(
            || st.own.range::<str, _>(..),
            |c| {
                st.own
                    .range::<str, _>((std::ops::Bound::Excluded(c), std::ops::Bound::Unbounded))
            },
        );
        let page: Vec<Locator> = after
            .take(max)
            .map(|(r, c)| Locator {
                resident: r.clone(),
                counts: *c,
            })
            .collect();
        let next = if page.len() < max {
            None
        } else {
            page.last().map(|l| l.resident.clone())
        };
        (page, next)
    }

    /// Writes the index if it changed since the last flush.
    pub fn flush(&self) -> Result<(), GossipError> {
        let mut dirty = self.dirty.lock().unwrap_or_else(|p| p.into_inner());
        if !*dirty {
            return Ok(());
        }
        let bytes =
            serde_json::to_vec(&*self.lock()).map_err(|e| GossipError::Store(e.to_string()))?;
        write_atomic(&self.path, &bytes)?;
        *dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_follow_the_table() {
        assert_eq!(category_of("Patient"), 0);
        assert_eq!(category_of("EpisodeOfCare"), 0);
        assert_eq!(category_of("Observation"), 1);
        assert_eq!(category_of("Condition"), 2);
        assert_eq!(category_of("MedicationRequest"), 3);
        assert_eq!(category_of("Immunization"), 4);
        assert_eq!(category_of("CarePlan"), 5);
        assert_eq!(category_of("DocumentReference"), 6);
        assert_eq!(category_of("SomethingNew"), 6);
    }

    #[test]
    fn pages_wrap_around_the_own_locators() {
        let dir = tempfile::tempdir().unwrap();
        let idx = LocatorIndex::open(dir.path()).unwrap();
        {
            let mut st = idx.lock();
            for i in 0..5u8 {
                st.own.insert(hex::encode([i; 32]), [u32::from(i); 7]);
            }
        }
        let (p1, c1) = idx.own_page(None, 2);
        let (p2, c2) = idx.own_page(c1.as_deref(), 2);
        let (p3, c3) = idx.own_page(c2.as_deref(), 2);
        assert_eq!((p1.len(), p2.len(), p3.len()), (2, 2, 1));
        assert_eq!(c3, None, "the last page starts the next round from the top");
        let all: Vec<_> = p1
            .iter()
            .chain(&p2)
            .chain(&p3)
            .map(|l| l.counts[0])
            .collect();
        assert_eq!(all, vec![0, 1, 2, 3, 4]);
    }
}
