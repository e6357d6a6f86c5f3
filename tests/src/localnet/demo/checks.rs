//! What the demo checks of the answers it gets, each failure saying what was wrong.

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::localnet::Node;
use crate::localnet::view::{ConsortiumView, reference};

/// Every entry of a transaction-response created a resource, and there are `n` of them.
pub fn all_created(answer: &Value, n: usize) -> Result<(), String> {
    let entries = answer["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if answer["type"] != "transaction-response" || entries.len() != n {
        return Err(format!(
            "expected a transaction-response with {n} entries: {answer}"
        ));
    }
    match entries
        .iter()
        .find(|e| e["response"]["status"] != "201 Created")
    {
        Some(e) => Err(format!("an entry was not created: {e}")),
        None => Ok(()),
    }
}

/// The data category a consent names for the kinds the demo's residents have (the node's
/// table, restated here so that the demo checks it rather than trusts it).
pub fn category_of(kind: &str) -> Option<u64> {
    Some(match kind {
        "Patient" | "Encounter" => 0,
        "Observation" => 1,
        "Condition" => 2,
        "MedicationRequest" => 3,
        "Immunization" => 4,
        _ => return None,
    })
}

/// A resource without its `meta` (which each node fills in for itself).
fn content(r: &Value) -> Value {
    let mut c = r.clone();
    if let Some(o) = c.as_object_mut() {
        o.remove("meta");
    }
    c
}

/// What one holder served in a consortium answer, checked against what it holds itself.
pub struct Served {
    pub records: usize,
    /// Resource type → count.
    pub kinds: BTreeMap<String, usize>,
    pub checkpoint_size: u64,
    pub checkpoint_root: String,
}

/// The records `holder` served in `view` are exactly the resident's records it holds
/// (`local`, read from the holder itself): the same count, the same `Type/id`s with the same
/// content, each with `meta.source` and a provenance extension naming the holder, marked
/// verified, in the right data category and proven into a checkpoint of the holder's log.
pub fn served_as_held(
    view: &ConsortiumView,
    holder: &Node,
    local: &[Value],
) -> Result<Served, String> {
    let remote = view.from_holder(&holder.origin);
    if remote.len() != local.len() {
        return Err(format!(
            "the city got {} records from {}, which holds {} for the resident",
            remote.len(),
            holder.name,
            local.len()
        ));
    }
    let held: BTreeMap<String, &Value> = local.iter().map(|r| (reference(r), r)).collect();
    let mut kinds = BTreeMap::new();
    let mut checkpoints = BTreeMap::new();
    for r in &remote {
        let what = r.reference();
        let p = &r.provenance;
        let Some(mine) = held.get(&what) else {
            return Err(format!(
                "{what} came from {} but it does not hold it",
                holder.name
            ));
        };
        if content(mine) != content(&r.resource) {
            return Err(format!(
                "{what} as served differs from what {} holds",
                holder.name
            ));
        }
        if p.institution != holder.name || p.origin != holder.origin || r.source != holder.origin {
            return Err(format!(
                "{what}: provenance names '{}' ({}), meta.source '{}', not {} ({})",
                p.institution, p.origin, r.source, holder.name, holder.origin
            ));
        }
        if !p.verified || p.checkpoint_size == 0 || p.checkpoint_root.len() != 64 {
            return Err(format!(
                "{what}: not marked verified against a checkpoint: {p:?}"
            ));
        }
        let kind = r.resource["resourceType"].as_str().unwrap_or_default();
        if category_of(kind) != Some(p.category) {
            return Err(format!("{what}: category {} in its provenance", p.category));
        }
        *kinds.entry(kind.to_owned()).or_insert(0) += 1;
        checkpoints.insert(p.checkpoint_size, p.checkpoint_root.clone());
    }
    // One answer is proven into one checkpoint.
    if checkpoints.len() > 1 {
        return Err(format!(
            "{}'s records name several checkpoints: {checkpoints:?}",
            holder.name
        ));
    }
    let (checkpoint_size, checkpoint_root) = checkpoints.into_iter().next().unwrap_or_default();
    Ok(Served {
        records: remote.len(),
        kinds,
        checkpoint_size,
        checkpoint_root,
    })
}

/// `Patient×1, Observation×2, …`
pub fn kinds_text(kinds: &BTreeMap<String, usize>) -> String {
    kinds
        .iter()
        .map(|(k, n)| format!("{k}×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The holders' answers must all be `status`, and nothing remote shown unless `served`.
pub fn all_holders(view: &ConsortiumView, holders: &[&Node], status: &str) -> Result<(), String> {
    for h in holders {
        match view.holder(&h.origin) {
            Some(a) if a.status == status => {}
            Some(a) => {
                return Err(format!(
                    "{} answered '{}', expected '{status}': {}",
                    h.name, a.status, a.diagnostics
                ));
            }
            None => return Err(format!("{} is not among the holders in the answer", h.name)),
        }
    }
    if status != "served" && !view.remote.is_empty() {
        return Err(format!(
            "{} remote record(s) shown although every holder {status}: {:?}",
            view.remote.len(),
            view.remote
                .iter()
                .map(|r| r.reference())
                .collect::<Vec<_>>()
        ));
    }
    Ok(())
}

/// An access-log entry (AuditEvent) of a read by another member.
pub struct MemberRead {
    /// `agent.who.display`: the member's name and origin.
    pub who: String,
    pub purpose: String,
    pub break_glass_reason: Option<String>,
    pub leaves: String,
}

/// The AuditEvents of `log` (an AuditEvent searchset) that record a read by the member with
/// chain account `account`.
pub fn reads_by(log: &Value, account: &str) -> Vec<MemberRead> {
    let mut out = Vec::new();
    for e in log["entry"].as_array().into_iter().flatten() {
        let a = &e["resource"];
        if a["resourceType"] != "AuditEvent" {
            continue;
        }
        let who = a["agent"][0]["who"]["identifier"]["value"]
            .as_str()
            .unwrap_or_default();
        if !who.eq_ignore_ascii_case(account) {
            continue;
        }
        let detail = |t: &str| {
            a["entity"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|en| en["detail"].as_array().into_iter().flatten())
                .find(|d| d["type"] == t)
                .and_then(|d| d["valueString"].as_str())
                .map(str::to_owned)
        };
        out.push(MemberRead {
            who: a["agent"][0]["who"]["display"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            purpose: a["purposeOfEvent"][0]["coding"][0]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            break_glass_reason: detail("break-glass-reason"),
            leaves: detail("leaves").unwrap_or_default(),
        });
    }
    out
}

/// An access-log entry of a read by this node's own staff.
pub struct OwnRead {
    pub purpose: String,
    pub break_glass_reason: Option<String>,
    /// How many records of other members the read passed on (`remote-leaves`).
    pub remote: usize,
}

/// The AuditEvents of `log` that record a read by staff of the node itself (a clinician's
/// request, not another member's).
pub fn own_reads(log: &Value) -> Vec<OwnRead> {
    let mut out = Vec::new();
    for e in log["entry"].as_array().into_iter().flatten() {
        let a = &e["resource"];
        if a["resourceType"] != "AuditEvent"
            || a["agent"][0]["type"]["coding"][0]["code"] != "clinician"
        {
            continue;
        }
        let details: Vec<&Value> = a["entity"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|en| en["detail"].as_array().into_iter().flatten())
            .collect();
        let detail = |t: &str| {
            details
                .iter()
                .find(|d| d["type"] == t)
                .and_then(|d| d["valueString"].as_str())
        };
        out.push(OwnRead {
            purpose: a["purposeOfEvent"][0]["coding"][0]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            break_glass_reason: detail("break-glass-reason").map(str::to_owned),
            remote: detail("remote-leaves").map_or(0, |l| l.split(',').count()),
        });
    }
    out
}

/// SHA-256 of `s`, as the chain carries a break-glass reason.
pub fn sha256(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}
