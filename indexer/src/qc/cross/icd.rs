//! ICD-10 value sets (DOMAIN.md §4.1) as the parameter file writes them.

use crate::model::CodeableConcept;
use crate::qc::params::ParamsError;

/// An ICD-10 value set: entries `A00-B99` (3-character category range, inclusive), `Z39` (a
/// category and its subcodes) or `Z32.1` (a code and its subcodes).
#[derive(Debug, Clone)]
pub(crate) struct IcdSet {
    entries: Vec<(String, String)>,
}

fn icd_token(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 3
        && b[0].is_ascii_uppercase()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'.')
        && (b.len() == 3 || b[3] == b'.')
}

impl IcdSet {
    pub(crate) fn new(name: &'static str, entries: &[String]) -> Result<Self, ParamsError> {
        let bad = |e: &str| ParamsError::BadValueSet {
            name,
            entry: e.to_owned(),
        };
        let entries = entries
            .iter()
            .map(|e| {
                let (lo, hi) = e.split_once('-').unwrap_or((e, e));
                let ok = icd_token(lo)
                    && icd_token(hi)
                    && (lo == hi || (lo.len() == 3 && hi.len() == 3 && lo <= hi));
                ok.then(|| (lo.to_owned(), hi.to_owned()))
                    .ok_or_else(|| bad(e))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    pub(crate) fn contains(&self, code: &str) -> bool {
        let code = code.trim().to_ascii_uppercase();
        let Some(cat) = code.get(..3) else {
            return false;
        };
        self.entries.iter().any(|(lo, hi)| {
            if lo.len() > 3 {
                code.starts_with(lo.as_str())
            } else {
                lo.as_str() <= cat && cat <= hi.as_str()
            }
        })
    }
}

/// The first code of `c`, in one of `systems`, that `set` contains.
pub(super) fn icd_in<'a>(
    c: Option<&'a CodeableConcept>,
    systems: &[String],
    set: &IcdSet,
) -> Option<&'a str> {
    c?.coding
        .iter()
        .filter(|x| x.system.as_ref().is_some_and(|s| systems.contains(s)))
        .filter_map(|x| x.code.as_deref())
        .find(|code| set.contains(code))
}
