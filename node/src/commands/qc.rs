//! `healthledger qc rules|report|eval`.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use hl_indexer::assess::{Assessment, Assessor};
use hl_indexer::qc::{Engine, Finding, Severity};
use hl_indexer::score::Score;
use hl_indexer::tree::ResidentTree;
use hl_ledger::Ledger;
use hl_ledger::pseudonym::Pseudonymizer;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::{AtArg, JsonArg};
use crate::qc::{eval, resolve};

/// The evaluation instant: `--at` (a day means its last second, UTC), else now.
pub fn instant(at: &AtArg) -> Result<OffsetDateTime> {
    let Some(text) = at.at.as_deref() else {
        return Ok(OffsetDateTime::now_utc());
    };
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    let day = time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .with_context(|| format!("--at '{text}' is neither YYYY-MM-DD nor an RFC 3339 instant"))?;
    Ok(day.with_hms(23, 59, 59)?.assume_utc())
}

pub fn engine() -> Result<Engine> {
    Engine::shipped().context("loading the shipped QC parameters")
}

pub fn assessor() -> Result<hl_indexer::assess::Assessor> {
    hl_indexer::assess::Assessor::shipped().context("loading the shipped QC parameters")
}

pub fn rules(j: &JsonArg) -> Result<()> {
    let engine = engine()?;
    if j.json {
        let rules: Vec<_> = engine
            .rules
            .iter()
            .map(|r| {
                json!({"id": r.id(), "level": format!("{:?}", r.level()),
                       "severity": format!("{:?}", r.severity()), "defaults": r.defaults(),
                       "scope": if r.consortium().is_some() { "consortium" } else { "resident" }})
            })
            .collect();
        return super::print_json(
            &json!({"params_version": engine.params.version, "rules": rules}),
        );
    }
    println!(
        "{} rules, parameters {} ([D] = catalogue default a region may override)",
        engine.rules.len(),
        engine.params.version
    );
    for line in hl_indexer::qc::listing(&engine.rules) {
        println!("{line}");
    }
    Ok(())
}

pub fn finding_json(f: &Finding) -> serde_json::Value {
    json!({
        "rule": f.rule_id,
        "severity": format!("{:?}", f.severity),
        "resident": f.resident,
        "evidence": f.evidence,
        "at": f.at.format(&Rfc3339).unwrap_or_default(),
        "message": f.message,
    })
}

/// Assesses every resident (or one), handing each assessment to `each`. Each resident's tree is
/// read from the log on its own, so memory stays that of one resident.
fn for_each(
    ledger: &Ledger,
    assessor: &Assessor,
    resident: Option<&str>,
    at: OffsetDateTime,
    mut each: impl FnMut(Assessment),
) -> Result<usize> {
    let residents = match resident {
        Some(r) => vec![r.to_owned()],
        None => crate::qc::all_residents(ledger)?,
    };
    for r in &residents {
        let tree = ResidentTree::from_log(ledger, r)?;
        each(assessor.assess(&tree, at));
    }
    Ok(residents.len())
}

/// Findings of every resident, or of one, and their scores.
fn findings(
    ledger: &Ledger,
    assessor: &Assessor,
    resident: Option<&str>,
    at: OffsetDateTime,
) -> Result<(usize, Vec<Finding>, Vec<Score>)> {
    let (mut findings, mut scores) = (Vec::new(), Vec::new());
    let n = for_each(ledger, assessor, resident, at, |a| {
        findings.extend(a.findings);
        scores.push(a.score);
    })?;
    Ok((n, findings, scores))
}

pub fn events(
    ledger: &Ledger,
    pseudonymizer: &Pseudonymizer,
    resident: Option<&str>,
    at: &AtArg,
    j: &JsonArg,
) -> Result<()> {
    let assessor = assessor()?;
    let at = instant(at)?;
    let resident = resident
        .map(|r| resolve::resident(ledger, pseudonymizer, r))
        .transpose()?;
    let mut all = Vec::new();
    for_each(ledger, &assessor, resident.as_deref(), at, |a| {
        all.extend(a.events)
    })?;
    all.sort_by(|a, b| (a.due, &a.resident).cmp(&(b.due, &b.resident)));
    if j.json {
        let list: Vec<_> = all
            .iter()
            .map(|e| {
                json!({"resident": e.resident, "kind": format!("{:?}", e.kind),
                       "programme": e.programme.map(|p| p.code()), "due": e.due.to_string(),
                       "evidence": e.evidence, "message": e.message})
            })
            .collect();
        return super::print_json(&json!({"at": at.format(&Rfc3339)?, "events": list}));
    }
    println!("{} events at {}", all.len(), at.format(&Rfc3339)?);
    for e in &all {
        println!(
            "  {} {} {:?}: {}",
            e.due,
            &e.resident[..e.resident.len().min(12)],
            e.kind,
            e.message
        );
    }
    Ok(())
}

pub fn report(
    ledger: &Ledger,
    pseudonymizer: &Pseudonymizer,
    resident: Option<&str>,
    at: &AtArg,
    j: &JsonArg,
) -> Result<()> {
    let assessor = assessor()?;
    let at = instant(at)?;
    let resident = resident
        .map(|r| resolve::resident(ledger, pseudonymizer, r))
        .transpose()?;
    let (residents, findings, scores) = findings(ledger, &assessor, resident.as_deref(), at)?;
    let summary = assessor.scorer.summary(&scores);
    let mut per_rule: BTreeMap<&str, (Severity, usize, BTreeSet<&str>)> = BTreeMap::new();
    for f in &findings {
        let e = per_rule
            .entry(f.rule_id)
            .or_insert((f.severity, 0, BTreeSet::new()));
        e.1 += 1;
        e.2.insert(&f.resident);
    }
    if j.json {
        let rules: Vec<_> = per_rule
            .iter()
            .map(|(id, (sev, n, rs))| {
                json!({"rule": id, "severity": format!("{sev:?}"), "findings": n, "residents": rs.len()})
            })
            .collect();
        let list: Vec<_> = findings.iter().map(finding_json).collect();
        return super::print_json(&json!({
            "at": at.format(&Rfc3339)?,
            "params_version": assessor.engine.params.version,
            "residents": residents,
            "completeness": {
                "mean": summary.mean,
                "incomplete_share": summary.incomplete_share,
                "bands": summary.bands.iter().map(|(b, n)| (format!("{b:?}"), *n)).collect::<BTreeMap<_, _>>(),
                "scores": scores.iter().map(|s| json!({"resident": s.resident, "score": s.value, "band": format!("{:?}", s.band)})).collect::<Vec<_>>(),
            },
            "rules": rules,
            "findings": list,
        }));
    }
    println!(
        "{residents} residents evaluated at {}, {} findings",
        at.format(&Rfc3339)?,
        findings.len()
    );
    println!(
        "completeness: mean {:.1}; {:.1}% of archives under 60; bands {}",
        summary.mean,
        100.0 * summary.incomplete_share,
        summary
            .bands
            .iter()
            .map(|(b, n)| format!("{b:?} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (id, (sev, n, rs)) in &per_rule {
        println!("  {id} {sev:?}  {n} findings, {} residents", rs.len());
    }
    if resident.is_some() || findings.len() <= 50 {
        for f in &findings {
            println!(
                "{} {:?} {}: {} (records {})",
                f.rule_id,
                f.severity,
                &f.resident[..f.resident.len().min(12)],
                f.message,
                f.evidence
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    } else {
        println!("(use --resident or --json for the findings themselves)");
    }
    Ok(())
}

pub fn eval_labels(
    ledger: &Ledger,
    pseudonymizer: &Pseudonymizer,
    labels_path: &std::path::Path,
    min: Option<f64>,
    at: &AtArg,
    j: &JsonArg,
) -> Result<()> {
    let assessor = assessor()?;
    let at = instant(at)?;
    let mut labels = BTreeSet::new();
    for l in eval::read_labels(labels_path)? {
        let r = resolve::resident(ledger, pseudonymizer, &format!("Patient/{}", l.patient))
            .with_context(|| format!("label for Patient/{}", l.patient))?;
        labels.insert((r, l.rule));
    }
    let (residents, findings, _) = findings(ledger, &assessor, None, at)?;
    let scores = eval::score(&labels, &findings);
    if j.json {
        super::print_json(&json!({
            "at": at.format(&Rfc3339)?,
            "residents": residents,
            "labels": labels.len(),
            "rules": scores,
        }))?;
    } else {
        println!(
            "{residents} residents, {} labelled defects, evaluated at {}",
            labels.len(),
            at.format(&Rfc3339)?
        );
        println!("rule     labelled  fired     TP  precision  recall");
        for s in &scores {
            println!(
                "{:<8} {:>8} {:>6} {:>6}  {:>9.4}  {:>6.4}",
                s.rule, s.labelled, s.fired, s.true_positives, s.precision, s.recall
            );
        }
    }
    if let Some(min) = min {
        eval::check_min(&scores, min)?;
    }
    Ok(())
}
