//! `healthledger resident show`: one resident's longitudinal record, readable: programmes with
//! what is due, the completeness score and why, events, findings, problems and the timeline.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use hl_indexer::assess::Assessment;
use hl_indexer::programme::{ProgrammeState, State};
use hl_indexer::tree::{ResidentTree, TimelineFilter};
use hl_ledger::Ledger;
use hl_ledger::pseudonym::Pseudonymizer;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use crate::cli::ResidentShowArgs;
use crate::qc::resolve;

fn day(text: &str, flag: &str) -> Result<time::Date> {
    time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .with_context(|| format!("{flag} '{text}' is not YYYY-MM-DD"))
}

fn state_text(s: &State) -> String {
    match s {
        State::Met {
            on, late: false, ..
        } => format!("met {on}"),
        State::Met { on, late: true, .. } => format!("met late {on}"),
        State::Waived { on, .. } => format!("waived {on}"),
        State::Overdue => "OVERDUE".into(),
        State::Due => "due".into(),
        State::Upcoming => "upcoming".into(),
    }
}

fn programme_json(p: &ProgrammeState) -> Value {
    json!({
        "programme": p.programme.code(),
        "status": format!("{:?}", p.status),
        "enrolment": p.enrolment.as_ref().map(|e| json!({
            "leaf": e.leaf, "id": e.id,
            "since": e.since.map(|d| d.to_string()), "until": e.until.map(|d| d.to_string()),
        })),
        "next_due": p.next_due().map(|o| json!({"kind": o.kind, "from": o.from.to_string(), "to": o.to.to_string()})),
        "obligations": p.obligations.iter().map(|o| json!({
            "kind": o.kind, "class": format!("{:?}", o.class),
            "from": o.from.to_string(), "to": o.to.to_string(),
            "state": state_text(&o.state), "basis": o.basis,
            "evidence": match &o.state { State::Met { evidence, .. } | State::Waived { evidence, .. } => evidence.clone(), _ => vec![] },
        })).collect::<Vec<_>>(),
    })
}

/// One event as `resident show --json` and the API's QC event stream show it.
pub(crate) fn event_json(e: &hl_indexer::events::Event) -> Value {
    json!({
        "kind": format!("{:?}", e.kind), "programme": e.programme.map(|p| p.code()),
        "due": e.due.to_string(), "evidence": e.evidence, "message": e.message,
    })
}

/// An assessment as `resident show --json` and the API's resident QC show it.
pub(crate) fn assessment_json(a: &Assessment) -> Value {
    json!({
        "score": {
            "value": a.score.value,
            "band": format!("{:?}", a.score.band),
            "modules": a.score.modules.iter().map(|m| json!({
                "module": format!("{:?}", m.module), "weight": m.weight, "applicable": m.applicable,
                "s": m.s, "reasons": m.reasons, "evidence": m.evidence,
            })).collect::<Vec<_>>(),
        },
        "programmes": a.programmes.iter().map(programme_json).collect::<Vec<_>>(),
        "events": a.events.iter().map(event_json).collect::<Vec<_>>(),
        "findings": a.findings.iter().map(super::qc::finding_json).collect::<Vec<_>>(),
    })
}

pub fn show(ledger: &Ledger, pseudonymizer: &Pseudonymizer, a: &ResidentShowArgs) -> Result<()> {
    let assessor = super::qc::assessor()?;
    let at = super::qc::instant(&a.at)?;
    let filter = TimelineFilter {
        kinds: a.kind.iter().cloned().collect::<BTreeSet<_>>(),
        from: a.from.as_deref().map(|d| day(d, "--from")).transpose()?,
        to: a.to.as_deref().map(|d| day(d, "--to")).transpose()?,
    };
    let pseudonym = resolve::resident(ledger, pseudonymizer, &a.resident)?;
    let tree = ResidentTree::from_log(ledger, &pseudonym)?;
    let x = assessor.assess(&tree, at);
    let timeline = tree.timeline(&filter);
    let problems = tree.problem_list();
    // Several Patient records of one resident (other ids, other institutions) that disagree are
    // shown side by side, never merged.
    let conflicts = hl_indexer::identity::demographic_conflicts(&tree);
    if a.json.json {
        let mut v = assessment_json(&x);
        v["resident"] = json!(pseudonym);
        v["at"] = json!(at.format(&Rfc3339)?);
        v["records"] = json!(tree.records);
        v["identity_conflicts"] = json!(conflicts.iter().map(|c| json!({
            "field": format!("{:?}", c.field),
            "values": c.values.iter().map(|(v, leaf)| json!({"value": v, "leaf": leaf})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>());
        v["problems"] = json!(problems.iter().map(|p| json!({
            "record": p.key.to_string(), "leaf": p.leaf, "code": p.code, "display": p.display,
            "onset": p.onset.as_ref().map(|t| t.text.clone()),
        })).collect::<Vec<_>>());
        v["timeline"] =
            json!(timeline.iter().map(|i| json!({
            "date": i.date.format(&Rfc3339).unwrap_or_default(), "kind": i.kind, "id": i.id,
            "version": i.version, "leaf": i.leaf, "summary": i.summary,
        })).collect::<Vec<_>>());
        return super::print_json(&v);
    }
    println!(
        "resident {pseudonym}\n{} records in the log; assessed at {}",
        tree.records.len(),
        at.format(&Rfc3339)?
    );
    for c in &conflicts {
        println!(
            "identity conflict, {:?}: {}",
            c.field,
            c.values
                .iter()
                .map(|(v, leaf)| format!("{v} (leaf {leaf})"))
                .collect::<Vec<_>>()
                .join(" vs ")
        );
    }
    println!(
        "\ncompleteness {} / 100 (band {:?})",
        x.score.value, x.score.band
    );
    for m in x.score.modules.iter().filter(|m| m.applicable) {
        println!("  {:?} {:.2} × {}", m.module, m.s, m.weight);
        for r in &m.reasons {
            println!("      {r}");
        }
    }
    println!("\nprogrammes");
    if x.programmes.is_empty() {
        println!("  none");
    }
    for p in &x.programmes {
        let since = p
            .enrolment
            .as_ref()
            .and_then(|e| e.since)
            .map_or(String::new(), |d| format!(" since {d}"));
        let next = p.next_due().map_or("nothing due".to_owned(), |o| {
            format!("next: {} by {}", o.kind, o.to)
        });
        println!("  {} {:?}{since}; {next}", p.programme.code(), p.status);
        for o in p.obligations.iter().filter(|o| o.state == State::Overdue) {
            println!("      overdue: {} ({} to {})", o.kind, o.from, o.to);
        }
    }
    println!("\nevents ({})", x.events.len());
    for e in &x.events {
        println!("  {} {:?}: {}", e.due, e.kind, e.message);
    }
    println!("\nfindings ({})", x.findings.len());
    for f in &x.findings {
        println!(
            "  {} {:?}: {} (records {})",
            f.rule_id,
            f.severity,
            f.message,
            f.evidence
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!("\nproblems");
    for p in &problems {
        println!(
            "  {} {} (since {}; leaf {})",
            p.code.as_deref().unwrap_or("?"),
            p.display.as_deref().unwrap_or(""),
            p.onset
                .as_ref()
                .or(p.recorded.as_ref())
                .map_or("?", |t| t.text.as_str()),
            p.leaf
        );
    }
    println!("\ntimeline ({} items)", timeline.len());
    for i in &timeline {
        println!(
            "  {}  {:<22} {} (v{}, leaf {})",
            i.date.date(),
            i.kind,
            i.summary,
            i.version,
            i.leaf
        );
    }
    Ok(())
}
