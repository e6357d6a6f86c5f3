//! The consortium demo (issue 6, item 6): anvil and three member nodes on loopback — a
//! community health centre, a county hospital and a city hospital. The centre and the county
//! hospital hold records of a few shared residents; the city hospital's clinician asks for one
//! resident's whole history across the consortium:
//!
//! - A. without the resident's consent: both holders refuse, nothing remote is shown;
//! - B. the resident binds a wallet and grants the city hospital (purpose TREAT, every
//!   category): the city sees both holders' records, each verified, exactly what each holder
//!   holds, with provenance;
//! - C. the resident revokes: refused again, and the city's cache does not serve what it kept;
//! - D. a break-glass read: served, in the resident's access log at each holder, and on chain;
//!   the resident also reads the city hospital's own access log (signed in there by
//!   pseudonym): the consented and the break-glass read, each naming what it passed on.
//!
//! Every step is printed in plain words with its figures; [`run`] fails naming the step that
//! misbehaved.

mod checks;
mod steps;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{Institution, Localnet, Node, SharedResident, Visit, wallet};

pub const CENTRE: &str = "Xicheng Community Health Centre";
pub const COUNTY: &str = "Miyun County Hospital";
pub const CITY: &str = "Beijing City Hospital";
const CENTRE_ORIGIN: &str = "xicheng-chc.example/log";
const COUNTY_ORIGIN: &str = "miyun-county-hospital.example/log";
const CITY_ORIGIN: &str = "beijing-city-hospital.example/log";
/// Tags of the holders' record ids (`chc-r1`, `county-r1-enc`, …).
pub(crate) const CENTRE_TAG: &str = "chc";
const COUNTY_TAG: &str = "county";
/// Shared residents whose records the two holders ingest.
const RESIDENTS: usize = 3;
/// How long gossip may take to tell the city hospital who holds the resident.
const GOSSIP_TIMEOUT: Duration = Duration::from_secs(90);
const ANCHOR_TIMEOUT: Duration = Duration::from_secs(30);

/// The figures of a demo run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub residents: usize,
    /// Records ingested at the centre and at the county hospital.
    pub ingested: [usize; 2],
    /// The resident's pseudonym (64 hex).
    pub pseudonym: String,
    /// A: holders that refused without consent.
    pub refused_without_consent: usize,
    /// B: verified records the city got from the centre and from the county hospital.
    pub served_with_consent: [usize; 2],
    /// C: holders that refused after the revocation.
    pub refused_after_revocation: usize,
    /// D: verified records served on the break-glass read.
    pub served_break_glass: usize,
    /// D: break-glass AuditEvents naming the city hospital in the holders' logs.
    pub break_glass_audits: usize,
    /// D: `EmergencyAccess` events on chain for the resident.
    pub emergency_events: usize,
    /// D: reads by the city hospital's own staff in its access log, as the resident sees it.
    pub city_reads: usize,
    pub setup_secs: f64,
    pub total_secs: f64,
    /// The city hospital's consortium answer at each step (A to D), for further checks.
    pub answers: Vec<(char, serde_json::Value)>,
}

/// Writes one line of the demo's output.
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {
        writeln!($out, $($arg)*).map_err(|e| format!("writing the demo's output: {e}"))?
    };
}
pub(crate) use say;

/// The three nodes, the residents and what the steps share.
pub(crate) struct Demo {
    pub net: Localnet,
    pub residents: Vec<SharedResident>,
    /// The resident the steps are about.
    pub subject: SharedResident,
    pub pseudonym: String,
}

impl Demo {
    pub fn centre(&self) -> &Node {
        &self.net.nodes[0]
    }
    pub fn county(&self) -> &Node {
        &self.net.nodes[1]
    }
    pub fn city(&self) -> &Node {
        &self.net.nodes[2]
    }
    /// The two holders with the subject's Patient id at each.
    pub fn holders(&self) -> [(&Node, String); 2] {
        [
            (self.centre(), self.subject.patient_id(CENTRE_TAG)),
            (self.county(), self.subject.patient_id(COUNTY_TAG)),
        ]
    }
}

/// Runs the demo with the `healthledger` binary at `healthledger_bin`, printing each step to
/// `out`; the figures, or which step misbehaved and how.
pub fn run(healthledger_bin: impl AsRef<Path>, out: &mut impl Write) -> Result<Summary, String> {
    let t0 = Instant::now();
    let mut summary = Summary {
        residents: RESIDENTS,
        ..Summary::default()
    };
    let demo =
        setup(healthledger_bin.as_ref(), out, &mut summary).map_err(|e| format!("setup: {e}"))?;
    steps::no_consent(&demo, out, &mut summary).map_err(|e| format!("step A (no consent): {e}"))?;
    let consent = steps::consent(&demo, out, &mut summary)
        .map_err(|e| format!("step B (consent granted): {e}"))?;
    steps::revoked(&demo, out, &mut summary, &consent)
        .map_err(|e| format!("step C (consent revoked): {e}"))?;
    steps::break_glass(&demo, out, &mut summary, &consent)
        .map_err(|e| format!("step D (break-glass): {e}"))?;
    summary.total_secs = t0.elapsed().as_secs_f64();
    say!(out, "");
    say!(
        out,
        "Every step behaved as expected ({:.1} s in all, {:.1} s of it starting the consortium).",
        summary.total_secs,
        summary.setup_secs
    );
    Ok(summary)
}

fn setup(bin: &Path, out: &mut impl Write, summary: &mut Summary) -> Result<Demo, String> {
    say!(
        out,
        "== Setting up: anvil, the HealthLedger contract and three member nodes on loopback"
    );
    let net = Localnet::start(
        bin,
        &[
            Institution::new(CENTRE, CENTRE_ORIGIN),
            Institution::new(COUNTY, COUNTY_ORIGIN),
            Institution::new(CITY, CITY_ORIGIN),
        ],
    )?;
    summary.setup_secs = net.setup_secs;
    say!(
        out,
        "   chain: anvil at {}, contract {}",
        net.anvil.url,
        net.contract
    );
    for n in &net.nodes {
        say!(
            out,
            "   member: {} ({}), account {}",
            n.name,
            n.origin,
            n.account
        );
        say!(out, "           API {}, network {}", n.url, n.p2p);
    }
    say!(
        out,
        "   all three admitted on chain, funded, joined with the consortium's pre-shared key ({:.1} s)",
        net.setup_secs
    );

    let residents = SharedResident::sample(RESIDENTS);
    let subject = residents[0].clone();
    let demo = Demo {
        pseudonym: subject.pseudonym(net.consortium_key),
        net,
        residents,
        subject,
    };
    say!(out, "");
    say!(
        out,
        "== Records of {RESIDENTS} shared residents, held by the centre and the county hospital"
    );
    let visits = [
        (CENTRE_TAG, Visit::Community, "2026-03-02"),
        (COUNTY_TAG, Visit::Hospital, "2026-05-18"),
    ];
    for (i, (tag, visit, date)) in visits.iter().enumerate() {
        let node = &demo.net.nodes[i];
        for r in &demo.residents {
            let bundle = r.bundle(tag, *visit, date);
            let answer = node.ingest(&bundle)?;
            checks::all_created(&answer, visit.records())
                .map_err(|e| format!("{} ingesting {}: {e}", node.name, r.patient_id(tag)))?;
            summary.ingested[i] += visit.records();
        }
        let size = node.anchors()?["size"].as_u64().unwrap_or(0);
        let anchored = node.wait_anchored(size, ANCHOR_TIMEOUT)?;
        say!(
            out,
            "   {}: {} records ({} per resident from {}), log anchored on chain at size {anchored}",
            node.name,
            summary.ingested[i],
            visit.records(),
            visit.describe()
        );
    }
    // Every member derives the same pseudonym from the resident identity number.
    for (node, pid) in demo.holders() {
        let theirs = wallet::pseudonym(node, &pid)?;
        if theirs != demo.pseudonym {
            return Err(format!(
                "{} derives pseudonym {theirs} for {pid}, not {} (consortium key not shared?)",
                node.name, demo.pseudonym
            ));
        }
    }
    summary.pseudonym = demo.pseudonym.clone();
    say!(
        out,
        "   resident {} {}{} (identity number {}…): pseudonym {}…, the same at both holders",
        demo.subject.key,
        demo.subject.family,
        demo.subject.given,
        &demo.subject.national_id[..6],
        &demo.pseudonym[..16]
    );
    let city = demo.city();
    let origins = [demo.centre().origin.as_str(), demo.county().origin.as_str()];
    let t = Instant::now();
    city.wait_for_holders(
        &demo.pseudonym,
        city.token("clinician")?,
        &origins,
        GOSSIP_TIMEOUT,
    )?;
    say!(
        out,
        "   the city hospital learnt from gossip that both hold records of the resident ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    Ok(demo)
}
