//! `Patient/{id}/$everything?scope=consortium` as a client sees it: this node's records, the
//! remote ones with their provenance, and what each holder answered.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use super::error::{Error, Result};
use super::node::Node;
use super::wait;

/// The extension naming where a remote record came from.
pub const PROVENANCE_URL: &str =
    "https://healthledger.example.org/fhir/StructureDefinition/consortium-provenance";
/// The extension of a holder's issue naming the holder's origin.
pub const HOLDER_URL: &str =
    "https://healthledger.example.org/fhir/StructureDefinition/consortium-holder";

/// One answer of the consortium view.
#[derive(Debug, Clone)]
pub struct ConsortiumView {
    pub bundle: Value,
    /// Resources this node holds.
    pub local: Vec<Value>,
    pub remote: Vec<Remote>,
    /// One per holder, as the OperationOutcome entry says.
    pub holders: Vec<HolderAnswer>,
}

/// A record another member served, verified by the asking node.
#[derive(Debug, Clone)]
pub struct Remote {
    pub resource: Value,
    /// `meta.source`: the holder's origin.
    pub source: String,
    pub provenance: Provenance,
}

/// The sub-extensions of the provenance extension.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    pub institution: String,
    pub origin: String,
    pub checkpoint_size: u64,
    pub checkpoint_root: String,
    pub category: u64,
    pub verified: bool,
}

/// What one holder answered.
#[derive(Debug, Clone)]
pub struct HolderAnswer {
    pub origin: String,
    /// `served`, `refused`, `unreachable` or `rejected`.
    pub status: String,
    pub severity: String,
    pub diagnostics: String,
}

impl Remote {
    /// `Type/id` of the resource.
    pub fn reference(&self) -> String {
        reference(&self.resource)
    }
}

pub fn reference(r: &Value) -> String {
    format!(
        "{}/{}",
        r["resourceType"].as_str().unwrap_or("?"),
        r["id"].as_str().unwrap_or("?")
    )
}

impl ConsortiumView {
    /// Reads and checks the shape of a consortium answer: a searchset Bundle whose match
    /// entries all have a resource and a distinct fullUrl, whose `total` counts them, with
    /// exactly one OperationOutcome entry (mode `outcome`) that names each holder once.
    pub fn parse(bundle: Value) -> Result<Self> {
        let bad = |why: String| Error::unexpected(format!("consortium answer: {why}"));
        if bundle["resourceType"] != "Bundle" || bundle["type"] != "searchset" {
            return Err(bad(format!(
                "not a searchset Bundle: resourceType {}, type {}",
                bundle["resourceType"], bundle["type"]
            )));
        }
        let entries = bundle["entry"]
            .as_array()
            .ok_or_else(|| bad("no entry array".into()))?;
        let (mut local, mut remote, mut outcomes) = (Vec::new(), Vec::new(), Vec::new());
        let mut urls = BTreeSet::new();
        for (i, e) in entries.iter().enumerate() {
            let resource = &e["resource"];
            if !resource["resourceType"].is_string() {
                return Err(bad(format!("entry {i} has no resource")));
            }
            match e["search"]["mode"].as_str() {
                Some("match") => {
                    let url = e["fullUrl"]
                        .as_str()
                        .ok_or_else(|| bad(format!("entry {i} has no fullUrl")))?;
                    if !urls.insert(url.to_owned()) {
                        return Err(bad(format!("fullUrl {url} appears twice")));
                    }
                    match provenance(resource) {
                        Some(p) => remote.push(Remote {
                            source: resource["meta"]["source"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                            resource: resource.clone(),
                            provenance: p,
                        }),
                        None => local.push(resource.clone()),
                    }
                }
                Some("outcome") if resource["resourceType"] == "OperationOutcome" => {
                    outcomes.push(resource.clone())
                }
                Some("outcome") => {}
                m => return Err(bad(format!("entry {i} has search mode {m:?}"))),
            }
        }
        let matches = local.len() + remote.len();
        if bundle["total"]
            .as_u64()
            .is_some_and(|t| t as usize != matches)
        {
            return Err(bad(format!(
                "total {} but {matches} match entries (paged? ask with a larger _count)",
                bundle["total"]
            )));
        }
        // The holders' outcome is the one whose issues name holders (or say there are none);
        // a second outcome lists ignored parameters.
        let holders_outcome = outcomes
            .iter()
            .find(|o| {
                o["issue"].as_array().is_some_and(|is| {
                    is.iter().any(|i| {
                        holder_origin(i).is_some()
                            || i["diagnostics"]
                                .as_str()
                                .is_some_and(|d| d.contains("no other member"))
                    })
                })
            })
            .ok_or_else(|| bad("no OperationOutcome entry about the holders".into()))?;
        let mut holders = Vec::new();
        for issue in holders_outcome["issue"].as_array().into_iter().flatten() {
            let Some(origin) = holder_origin(issue) else {
                continue;
            };
            let diagnostics = issue["diagnostics"].as_str().unwrap_or_default().to_owned();
            if holders.iter().any(|h: &HolderAnswer| h.origin == origin) {
                return Err(bad(format!("holder {origin} is named twice")));
            }
            holders.push(HolderAnswer {
                status: status_of(&origin, &diagnostics),
                severity: issue["severity"].as_str().unwrap_or_default().to_owned(),
                origin,
                diagnostics,
            });
        }
        Ok(Self {
            bundle,
            local,
            remote,
            holders,
        })
    }

    pub fn holder(&self, origin: &str) -> Option<&HolderAnswer> {
        self.holders.iter().find(|h| h.origin == origin)
    }

    /// The remote records `origin` served.
    pub fn from_holder(&self, origin: &str) -> Vec<&Remote> {
        self.remote.iter().filter(|r| r.source == origin).collect()
    }
}

fn holder_origin(issue: &Value) -> Option<String> {
    issue["extension"]
        .as_array()?
        .iter()
        .find(|x| x["url"] == HOLDER_URL)?["valueString"]
        .as_str()
        .map(str::to_owned)
}

/// The status word after "<origin>: " or "<name> (<origin>): ".
fn status_of(origin: &str, diagnostics: &str) -> String {
    let rest = diagnostics
        .split_once(&format!("{origin}): "))
        .or_else(|| diagnostics.split_once(&format!("{origin}: ")))
        .map_or("", |(_, r)| r);
    rest.split([',', ';', ' '])
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn provenance(resource: &Value) -> Option<Provenance> {
    let ext = resource["meta"]["extension"]
        .as_array()?
        .iter()
        .find(|x| x["url"] == PROVENANCE_URL)?;
    let mut p = Provenance::default();
    for sub in ext["extension"].as_array().into_iter().flatten() {
        let s = || sub["valueString"].as_str().unwrap_or_default().to_owned();
        match sub["url"].as_str() {
            Some("institution") => p.institution = s(),
            Some("origin") => p.origin = s(),
            Some("checkpointSize") => p.checkpoint_size = s().parse().unwrap_or(0),
            Some("checkpointRoot") => p.checkpoint_root = s(),
            Some("category") => p.category = sub["valueUnsignedInt"].as_u64().unwrap_or(u64::MAX),
            Some("verified") => p.verified = sub["valueBoolean"].as_bool() == Some(true),
            _ => {}
        }
    }
    Some(p)
}

impl Node {
    /// `GET /fhir/Patient/{id}/$everything?scope=consortium` with `token` and `headers`
    /// (e.g. `X-Break-Glass-Reason`), in one page; the parsed answer.
    pub fn consortium_view(
        &self,
        id: &str,
        token: &str,
        headers: &[(&str, &str)],
    ) -> Result<ConsortiumView> {
        let path = format!("/fhir/Patient/{id}/$everything?scope=consortium&_count=500");
        ConsortiumView::parse(self.get(&path, Some(token), headers)?.expect_json(200)?)
    }

    /// Polls the consortium view of `id` until it names every origin of `holders` (each
    /// poll asks them, so this also waits until they can be reached); the last answer.
    pub fn wait_for_holders(
        &self,
        id: &str,
        token: &str,
        holders: &[&str],
        timeout: Duration,
    ) -> Result<ConsortiumView> {
        let what = format!("{} seeing the holders {holders:?} of {id}", self.name);
        wait::until(&what, timeout, || {
            let v = self.consortium_view(id, token, &[])?;
            let missing: Vec<&&str> = holders
                .iter()
                .filter(|o| v.holder(o).is_none_or(|h| h.status == "unreachable"))
                .collect();
            if missing.is_empty() {
                Ok(Ok(v))
            } else {
                let seen: Vec<String> = v.holders.iter().map(|h| h.diagnostics.clone()).collect();
                Ok(Err(format!("missing {missing:?}; holders said {seen:?}")))
            }
        })
    }

    /// The resident's records this node holds (`$everything`, local scope), read with `token`.
    pub fn local_everything(&self, patient: &str, token: &str) -> Result<Vec<Value>> {
        let path = format!("/fhir/Patient/{patient}/$everything?_count=500");
        let b = self.get(&path, Some(token), &[])?.expect_json(200)?;
        let entries = b["entry"].as_array().cloned().unwrap_or_default();
        let out: Vec<Value> = entries
            .into_iter()
            .filter(|e| e["search"]["mode"] == "match")
            .map(|e| e["resource"].clone())
            .collect();
        if b["total"].as_u64().is_some_and(|t| t as usize != out.len()) {
            return Err(Error::unexpected(format!(
                "{}: $everything of {patient} has total {} but {} entries",
                self.name,
                b["total"],
                out.len()
            )));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_word_follows_the_holder() {
        assert_eq!(
            status_of(
                "a.example/log",
                "A (a.example/log): served, 3 verified record(s)"
            ),
            "served"
        );
        assert_eq!(
            status_of("a.example/log", "a.example/log: refused; no consent"),
            "refused"
        );
        assert_eq!(status_of("a.example/log", "something else"), "");
    }
}
