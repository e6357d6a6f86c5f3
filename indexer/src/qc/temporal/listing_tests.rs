//! The temporal rules as the engine sees them: registered, listed, configured.

use crate::qc::temporal::fixtures::*;
use crate::qc::{DEFAULT_PARAMS, Engine, Level, Params, ParamsError, listing, rules};
use crate::testutil::resident;

const IDS: [&str; 10] = [
    "QC-T01", "QC-T02", "QC-T03", "QC-T04", "QC-T05", "QC-T06", "QC-T07", "QC-T08", "QC-T09",
    "QC-T10",
];

#[test]
fn temporal_rules_follow_the_others_in_id_order() {
    let engine = Engine::shipped().expect("engine");
    let ids: Vec<&str> = engine.rules.iter().map(|r| r.id()).collect();
    let at = ids.iter().position(|id| *id == "QC-T01").expect("T01");
    assert!(ids[at - 1].starts_with("QC-X"), "{ids:?}");
    assert_eq!(ids[at..at + IDS.len()], IDS);
    assert!(
        engine.rules[at..at + IDS.len()]
            .iter()
            .all(|r| r.level() == Level::T)
    );
    let lines = listing(&engine.rules);
    for line in [
        "QC-T01 T E",
        "QC-T03 T E [D] gap_days",
        "QC-T09 T E [D] checks (1-month 21–45 d, ±1 month, ±3 months)",
        "QC-T10 T E [D] grace_days",
    ] {
        assert!(lines.contains(&line.to_owned()), "{line}: {lines:?}");
    }
}

#[test]
fn the_engine_reports_temporal_findings_of_both_severities() {
    let engine = Engine::shipped().expect("engine");
    // A 70-year-old with no health check: T08 as an error and its TCM part as a warning.
    let f: Vec<_> = engine
        .evaluate(&resident(&[patient("1955-01-01")]), T)
        .into_iter()
        .filter(|f| f.rule_id == "QC-T08")
        .map(|f| f.severity)
        .collect();
    assert_eq!(f, [crate::qc::Severity::E, crate::qc::Severity::W]);
}

#[test]
fn malformed_temporal_sections_are_refused() {
    let refused = |from: &str, to: &str| {
        let text = DEFAULT_PARAMS.replacen(from, to, 1);
        assert_ne!(text, DEFAULT_PARAMS, "{from}");
        let p = Params::parse(&text).expect("still TOML");
        assert!(
            matches!(rules(&p), Err(ParamsError::BadSection { .. })),
            "{to}"
        );
    };
    refused("from = \"21d\"", "from = \"21w\"");
    refused("grace_days = 4", "grace_days = \"4\"");
    refused("gap_days = 120", "gap_day = 120");
    refused("window_months = 12", "window_months = 0");
    let missing = DEFAULT_PARAMS.replace("[T05]", "[T05-old]");
    let p = Params::parse(&missing).expect("still TOML");
    assert!(rules(&p).is_err());
}
