//! Cross-institution rules (DOMAIN.md §4.6, QC-I01–I05) over the consortium view of one
//! resident: the trees that several member institutions hold of the same resident (the
//! pseudonym is the same at every node), the local node's own among them.
//!
//! A rule here compares records *between* institutions only. What one tree says of itself is
//! the per-resident rules' concern (identity conflicts within a node, QC-R05, QC-X10…), so with
//! a single institution no rule here fires, and the engine's per-resident evaluation skips
//! these rules ([`crate::qc::Rule::consortium`]). Evidence names each record by its log's
//! origin and its leaf index there: leaf indices of different logs collide.
//!
//! QC-I06 (ledger integrity) is a per-node rule (`temporal::integrity`). QC-I07 (references
//! resolvable in the regional directory) is not implemented: the consortium has no directory
//! to resolve against. The chain registers members by address, key, log origin and name, not
//! by the Organization or Practitioner ids records reference; Organizations and Practitioners
//! are records of no resident, so a resident's records fetched from a member never include
//! them; and the synthetic and Synthea data name organisations by random uuids. Every remote
//! reference would be "unresolvable", which reports the missing directory, not the data.

mod chronic;
mod identity;
mod services;

use time::OffsetDateTime;

pub use chronic::I05ContradictoryChronicFacts;
pub use identity::{I01DemographicsAgree, I02OneActiveArchive};
pub use services::{I03DoubleCountedService, I04ConcurrentEnrolment};

use super::Rule;
use super::facts::Facts;
use super::params::{Params, ParamsError, Severity};
use crate::tree::ResidentTree;

/// One member institution's tree of the resident.
#[derive(Debug, Clone)]
pub struct InstitutionView {
    /// The origin line of the institution's log (e.g. `county.example/log`): with a leaf
    /// index, it names a record across the consortium.
    pub origin: String,
    /// The institution's registered name, as findings name it.
    pub name: String,
    pub tree: ResidentTree,
}

impl InstitutionView {
    /// How a sentence names the institution: its name, else its log origin.
    pub fn label(&self) -> &str {
        if self.name.trim().is_empty() {
            &self.origin
        } else {
            &self.name
        }
    }
}

/// One institution as the rules read it: its view and the facts read from its tree once for
/// all rules.
pub struct InstitutionFacts<'a> {
    pub view: &'a InstitutionView,
    pub facts: Facts,
}

impl InstitutionFacts<'_> {
    /// A record of this institution as evidence.
    pub fn cite(&self, leaf: u64) -> (String, u64) {
        (self.view.origin.clone(), leaf)
    }

    pub fn label(&self) -> &str {
        self.view.label()
    }
}

/// One rule failure over the consortium view of one resident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossFinding {
    pub rule_id: &'static str,
    pub severity: Severity,
    /// The resident's hex pseudonym.
    pub resident: String,
    /// (log origin, leaf index in that log) of each record version the finding rests on.
    pub evidence: Vec<(String, u64)>,
    pub at: OffsetDateTime,
    /// One plain sentence naming the institutions.
    pub message: String,
}

/// A rule over several institutions' trees of one resident.
pub trait ConsortiumRule: Rule {
    /// The findings at `at`; `institutions` are sorted by log origin and hold at least two.
    fn evaluate_institutions(
        &self,
        institutions: &[InstitutionFacts<'_>],
        at: OffsetDateTime,
    ) -> Vec<CrossFinding>;
}

/// The catalogue metadata of a consortium rule, as `rule_meta!` declares it for the others
/// (level I, severity from the `severity` field), plus the two methods that make it one: it
/// finds nothing in one tree alone, and it runs over the consortium view.
macro_rules! consortium_rule_meta {
    ($id:literal $(, defaults: $defaults:expr)? $(,)?) => {
        $crate::qc::rule_meta!($id, I $(, defaults: $defaults)?);
        fn evaluate(
            &self,
            _: &$crate::qc::ResidentView<'_>,
            _: time::OffsetDateTime,
        ) -> Vec<$crate::qc::Finding> {
            Vec::new()
        }
        fn consortium(&self) -> Option<&dyn $crate::qc::ConsortiumRule> {
            Some(self)
        }
    };
}
use consortium_rule_meta;

/// The consortium rules, configured from `params`, in id order.
pub(super) fn rules(params: &Params) -> Result<Vec<Box<dyn ConsortiumRule>>, ParamsError> {
    Ok(vec![
        Box::new(I01DemographicsAgree::new(params)?),
        Box::new(I02OneActiveArchive::new(params)?),
        Box::new(I03DoubleCountedService::new(params)?),
        Box::new(I04ConcurrentEnrolment::new(params)?),
        Box::new(I05ContradictoryChronicFacts::new(params)?),
    ])
}

/// The cross-institution rules QC-I01–I05, configured from `params`, over the consortium view
/// of one resident at `at`: `views` are the trees the member institutions hold of the
/// resident (one per institution; the local node's own is one of them). Findings come in rule
/// order and do not depend on the order of `views`; with views of fewer than two
/// institutions there are none. All views should be of one resident: those of another
/// pseudonym than the first view's are ignored, so residents are never compared.
///
/// Builds the rules on each call; [`crate::qc::Engine::evaluate_cross_institution`] uses the
/// engine's.
pub fn evaluate_cross_institution(
    views: &[InstitutionView],
    params: &Params,
    at: OffsetDateTime,
) -> Result<Vec<CrossFinding>, ParamsError> {
    let rules = rules(params)?;
    Ok(evaluate(
        rules.iter().map(|r| r.as_ref()),
        views,
        params,
        at,
    ))
}

pub(super) fn evaluate<'r>(
    rules: impl Iterator<Item = &'r dyn ConsortiumRule>,
    views: &[InstitutionView],
    params: &Params,
    at: OffsetDateTime,
) -> Vec<CrossFinding> {
    let Some(first) = views.first() else {
        return Vec::new();
    };
    let resident = &first.tree.pseudonym;
    let mut views: Vec<&InstitutionView> = views
        .iter()
        .filter(|v| v.tree.pseudonym.eq_ignore_ascii_case(resident))
        .collect();
    // Sorted, so that which institution a sentence names first, and so every finding, does
    // not depend on the order the views were fetched in.
    views.sort_by(|a, b| a.origin.cmp(&b.origin));
    if views.iter().all(|v| v.origin == first.origin) {
        return Vec::new();
    }
    let institutions: Vec<InstitutionFacts<'_>> = views
        .into_iter()
        .map(|view| InstitutionFacts {
            view,
            facts: Facts::new(&view.tree, params),
        })
        .collect();
    rules
        .flat_map(|r| r.evaluate_institutions(&institutions, at))
        .collect()
}

/// Every pair of institutions (in origin order) with different origins: what the symmetric
/// rules compare.
fn pairs<'i, 'a>(
    institutions: &'i [InstitutionFacts<'a>],
) -> impl Iterator<Item = (&'i InstitutionFacts<'a>, &'i InstitutionFacts<'a>)> {
    institutions.iter().enumerate().flat_map(move |(i, a)| {
        institutions[i + 1..]
            .iter()
            .filter(move |b| b.view.origin != a.view.origin)
            .map(move |b| (a, b))
    })
}

/// A finding of `rule` about the resident of `institutions`.
fn finding(
    rule: &dyn Rule,
    institutions: &[InstitutionFacts<'_>],
    evidence: Vec<(String, u64)>,
    at: OffsetDateTime,
    message: String,
) -> CrossFinding {
    CrossFinding {
        rule_id: rule.id(),
        severity: rule.severity(),
        resident: institutions
            .first()
            .map(|i| i.view.tree.pseudonym.clone())
            .unwrap_or_default(),
        evidence,
        at,
        message,
    }
}

/// A value one institution holds (a birth date, an archive number), with the record it is in:
/// what I01 and I02 compare across institutions.
struct Held<T> {
    value: T,
    /// Index of the institution in the rule's `institutions`.
    institution: usize,
    evidence: (String, u64),
}

/// Whether two institutions hold values that are not `alike`: a disagreement within one
/// institution is not a cross-institution finding.
fn differs_across<T>(
    held: &[Held<T>],
    institutions: &[InstitutionFacts<'_>],
    alike: impl Fn(&T, &T) -> bool,
) -> bool {
    let origin = |h: &Held<T>| &institutions[h.institution].view.origin;
    held.iter().enumerate().any(|(i, a)| {
        held[i + 1..]
            .iter()
            .any(|b| origin(a) != origin(b) && !alike(&a.value, &b.value))
    })
}

/// "a at X; b at Y and Z": each distinct value as `text` writes it, with the institutions
/// holding it, in the order first held.
fn by_value<T>(
    held: &[Held<T>],
    institutions: &[InstitutionFacts<'_>],
    text: impl Fn(&T) -> String,
) -> String {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for h in held {
        let v = text(&h.value);
        let name = institutions[h.institution].label();
        match groups.iter_mut().find(|(g, _)| *g == v) {
            Some((_, names)) if names.contains(&name) => {}
            Some((_, names)) => names.push(name),
            None => groups.push((v, vec![name])),
        }
    }
    groups
        .iter()
        .map(|(v, names)| format!("{v} at {}", and_list(names)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// "A", "A and B", "A, B and C".
fn and_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The evidence of `held`, each record once.
fn evidence_of<T>(held: &[Held<T>]) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = Vec::new();
    for h in held {
        if !out.contains(&h.evidence) {
            out.push(h.evidence.clone());
        }
    }
    out
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
