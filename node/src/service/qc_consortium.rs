//! Cross-institution QC of one resident: one tree per institution (this node's from its log,
//! each holder's from the verified records it shared), the I rules over them, and the
//! resident's timeline merged across institutions.

use std::collections::BTreeMap;

use hl_api::ports::RemoteRecord;
use hl_indexer::assess::Assessor;
use hl_indexer::qc::InstitutionView;
use hl_indexer::tree::{ResidentTree, TimelineFilter};
use hl_ledger::Ledger;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The `consortium` member of a resident's QC answer.
pub fn assess(
    ledger: &Ledger,
    assessor: &Assessor,
    institution: &str,
    resident: &str,
    remote: &[RemoteRecord],
    at: OffsetDateTime,
) -> Result<Value, String> {
    let mut views = vec![InstitutionView {
        origin: ledger.origin().to_owned(),
        name: institution.to_owned(),
        tree: ResidentTree::from_log(ledger, resident).map_err(|e| e.to_string())?,
    }];
    let mut by_origin: BTreeMap<&str, Vec<&RemoteRecord>> = BTreeMap::new();
    for r in remote {
        by_origin.entry(&r.envelope.origin).or_default().push(r);
    }
    for (origin, records) in by_origin {
        let name = records
            .first()
            .map(|r| r.institution.clone())
            .unwrap_or_default();
        let tree = ResidentTree::from_records(
            resident,
            records
                .iter()
                .map(|r| (r.index, &r.envelope, Some(r.content.as_slice()))),
        )
        .map_err(|e| format!("records of {origin}: {e}"))?;
        views.push(InstitutionView {
            origin: origin.to_owned(),
            name,
            tree,
        });
    }
    let findings = assessor.engine.evaluate_cross_institution(&views, at);
    let mut timeline: Vec<(OffsetDateTime, Value)> = Vec::new();
    for v in &views {
        for i in v.tree.timeline(&TimelineFilter::default()) {
            timeline.push((
                i.date,
                json!({
                    "date": i.date.format(&Rfc3339).unwrap_or_default(),
                    "kind": i.kind,
                    "id": i.id,
                    "version": i.version,
                    "institution": v.name,
                    "origin": v.origin,
                    "leaf": i.leaf,
                    "summary": i.summary,
                }),
            ));
        }
    }
    timeline.sort_by_key(|t| t.0);
    Ok(json!({
        "institutions": views.iter().map(|v| json!({
            "origin": v.origin,
            "name": v.name,
            "records": v.tree.records.len(),
        })).collect::<Vec<_>>(),
        "findings": findings.iter().map(|f| json!({
            "rule": f.rule_id,
            "severity": format!("{:?}", f.severity),
            "evidence": f.evidence.iter().map(|(o, leaf)| format!("{o}#{leaf}")).collect::<Vec<_>>(),
            "message": f.message,
        })).collect::<Vec<_>>(),
        "timeline": timeline.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests {
    use hl_ledger::input::InputOptions;
    use hl_ledger::note::NoteSigner;
    use hl_ledger::pseudonym::{Pseudonymizer, default_resident_systems};
    use hl_ledger::record::Envelope;
    use hl_ledger::{Ledger, StoreOptions};
    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    const ID_CARD: &str = "110105195603020014";

    fn ledger(dir: &tempfile::TempDir, origin: &str) -> Ledger {
        let signer = NoteSigner::generate(origin).expect("signer");
        Ledger::open(&dir.path().join("l.redb"), signer, StoreOptions::default()).expect("open")
    }

    /// A Patient (with `birth`) and one dated encounter, ingested as a member would.
    fn ingest(ledger: &Ledger, birth: &str, visit: &str) {
        let input = InputOptions {
            max_bytes: 1 << 20,
            // The consortium key: the same resident has the same pseudonym at both members.
            pseudonymizer: Pseudonymizer::new([7; 32], default_resident_systems(), "o".into()),
        };
        let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "Patient", "id": "p", "gender": "male", "birthDate": birth,
              "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": ID_CARD}]}},
            {"resource": {"resourceType": "Encounter", "id": format!("e-{visit}"), "status": "finished",
              "class": {"code": "AMB"}, "subject": {"reference": "Patient/p"},
              "period": {"start": visit}}},
        ]});
        let p = input
            .prepare("t", &serde_json::to_vec(&bundle).expect("json"))
            .expect("valid");
        ledger.submit(p).expect("submitted");
    }

    /// What a verified fetch of every record of `ledger` hands over.
    fn shared(ledger: &Ledger, institution: &str) -> Vec<RemoteRecord> {
        let size = ledger.head().expect("head").size;
        (0..size)
            .map(|i| {
                let rec = ledger.record(i).expect("read").expect("record");
                let envelope: Envelope = serde_json::from_slice(&rec.envelope).expect("envelope");
                RemoteRecord {
                    index: i,
                    envelope,
                    content: rec.content.expect("content"),
                    category: 0,
                    institution: institution.into(),
                    checkpoint_size: size,
                    checkpoint_root: "00".repeat(32),
                }
            })
            .collect()
    }

    #[test]
    fn conflicting_birth_dates_across_members_are_found_and_the_timeline_is_merged() {
        let (da, db) = (
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        );
        let (centre, county) = (
            ledger(&da, "centre.example/log"),
            ledger(&db, "county.example/log"),
        );
        ingest(&centre, "1956-03-02", "2024-05-01");
        ingest(&county, "1965-03-02", "2024-02-01");
        let resident = centre
            .record(0)
            .ok()
            .flatten()
            .and_then(|r| serde_json::from_slice::<Envelope>(&r.envelope).ok())
            .and_then(|e| e.resident)
            .expect("resident");
        let assessor = Assessor::shipped().expect("assessor");
        let at = datetime!(2025-01-01 0:00 UTC);
        let remote = shared(&county, "County Hospital");
        let v = assess(&centre, &assessor, "Centre", &resident, &remote, at).expect("assessed");

        let names: Vec<&str> = v["institutions"]
            .as_array()
            .expect("institutions")
            .iter()
            .map(|i| i["name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, ["Centre", "County Hospital"]);
        let i01: Vec<&Value> = v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["rule"] == "QC-I01")
            .collect();
        assert_eq!(i01.len(), 1, "{v:#}");
        let evidence: Vec<&str> = i01[0]["evidence"]
            .as_array()
            .expect("evidence")
            .iter()
            .map(|e| e.as_str().expect("ref"))
            .collect();
        assert!(evidence.contains(&"centre.example/log#0"), "{evidence:?}");
        assert!(evidence.contains(&"county.example/log#0"), "{evidence:?}");
        // The county's visit came first: the merged timeline is in date order across members.
        let visits: Vec<(&str, &str)> = v["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .filter(|t| t["kind"] == "Encounter")
            .map(|t| {
                (
                    t["institution"].as_str().expect("institution"),
                    t["id"].as_str().expect("id"),
                )
            })
            .collect();
        assert_eq!(
            visits,
            [
                ("County Hospital", "e-2024-02-01"),
                ("Centre", "e-2024-05-01")
            ]
        );

        // Agreeing members: no I01 finding.
        let dc = tempfile::tempdir().expect("dir");
        let city = ledger(&dc, "city.example/log");
        ingest(&city, "1956-03-02", "2024-03-01");
        let v = assess(
            &centre,
            &assessor,
            "Centre",
            &resident,
            &shared(&city, "City"),
            at,
        )
        .expect("assessed");
        assert!(
            v["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .all(|f| f["rule"] != "QC-I01"),
            "{v:#}"
        );
    }
}
