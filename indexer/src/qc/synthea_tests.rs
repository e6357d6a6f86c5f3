//! The accepted international codes over the real Synthea bundles in `shared/data/fhir`.

use time::macros::{date, datetime};

use crate::qc::{Engine, Params, ResidentView};
use crate::testutil::synthea_tree;

const LIZ: &str = "synthea-smart-on-fhir/Liz_Conn_27c911c6-f045-4ffa-af5d-6eba57ac94b2.json";
const DARRELL: &str = "synthea-tietai/Darrell_Funk_3dd33b34.json";

#[test]
fn a_synthea_resident_with_hypertension_is_in_the_htn_value_set() {
    let params = Params::shipped().expect("params");
    let tree = synthea_tree(&[LIZ]);
    let resident = tree.residents().next().expect("one resident");
    let view = ResidentView::new(resident, &params);
    let htn = params.value_sets.set("test", "HTN").expect("HTN");
    let found: Vec<String> = view
        .facts
        .diagnoses
        .iter()
        .filter_map(|d| d.code_in(&htn))
        .collect();
    assert_eq!(found, ["SNOMED 38341003"]);
    // Her tubal ligation is a female-only procedure, and she is female: no QC-X02 finding.
    let female_only = params.value_sets.set("test", "FEMALE-ONLY").expect("set");
    assert!(
        view.facts
            .others
            .iter()
            .any(|o| o.code_in(&female_only).is_some())
    );
    let engine = Engine::new(params.clone()).expect("engine");
    let findings = engine.evaluate_view(&view, datetime!(2026-01-01 0:00 UTC));
    assert!(
        findings.iter().all(|f| f.rule_id != "QC-X02"),
        "{findings:#?}"
    );
}

#[test]
fn synthea_cvx_doses_get_series_and_dose_numbers_and_check_ups_a_service() {
    let params = Params::shipped().expect("params");
    let tree = synthea_tree(&[DARRELL]);
    let resident = tree.residents().next().expect("one resident");
    let f = ResidentView::new(resident, &params).facts;
    let of = |series: &str| -> Vec<(u32, time::Date)> {
        f.doses
            .iter()
            .filter(|d| d.series.as_deref() == Some(series))
            .filter_map(|d| Some((d.dose_number?, d.day?)))
            .collect()
    };
    assert_eq!(
        of("HepB"),
        [
            (1, date!(2022 - 09 - 29)),
            (2, date!(2022 - 12 - 01)),
            (3, date!(2023 - 04 - 20)),
        ]
    );
    assert_eq!(
        of("DTaP").iter().map(|d| d.0).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(
        of("Polio").iter().map(|d| d.0).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(of("MMR"), [(1, date!(2023 - 10 - 26))]);
    assert_eq!(of("HepA-I").len(), 2);
    // Hib, rotavirus, PCV, varicella and influenza are outside the national programme.
    assert!(
        f.doses
            .iter()
            .filter(|d| d.series.is_none())
            .all(|d| d.dose_number.is_none())
    );
    // His general examinations before 7 are child health checks; the symptom visit is none.
    let services: Vec<Option<&str>> = f.visits.iter().map(|v| v.service.as_deref()).collect();
    assert_eq!(
        services.iter().filter(|s| **s == Some("CHILD-HC")).count(),
        9
    );
    assert_eq!(services.iter().filter(|s| s.is_none()).count(), 1);
}

/// Prints every finding over the shared Synthea residents at 2026-01-01, for review:
/// `cargo test -p hl-indexer synthea_findings -- --ignored --nocapture`.
#[test]
#[ignore = "prints the findings for a reviewer"]
fn synthea_findings() {
    let engine = Engine::shipped().expect("engine");
    let tree = synthea_tree(&[
        "synthea-smart-on-fhir/Buster_Hoeger_ad2e3fc5-2b5d-4cb9-8d03-9ea0f4ac8423.json",
        "synthea-smart-on-fhir/Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json",
        LIZ,
        "synthea-smart-on-fhir/Versie_Botsford_56121408-15fe-47a5-8279-6f05dee51464.json",
        DARRELL,
        "synthea-tietai/Delmer_Hoeger_af6711d4.json",
    ]);
    let schedules = crate::programme::Schedules::new(&engine.params).expect("schedules");
    let at = datetime!(2026-01-01 0:00 UTC);
    for r in tree.residents() {
        let view = ResidentView::new(r, &engine.params);
        let name = view
            .facts
            .demographics
            .birth
            .map_or(String::new(), |b| b.to_string());
        for f in engine.evaluate_view(&view, at) {
            println!("{name}\t{}\t{:?}\t{}", f.rule_id, f.severity, f.message);
        }
        for p in schedules.evaluate(&view, at) {
            for o in &p.obligations {
                println!(
                    "{name}\tPROG-{:?}\t{:?}\t{} {}..{} {:?}",
                    p.programme, p.status, o.kind, o.from, o.to, o.state
                );
            }
        }
    }
}
