//! Deterministic synthetic FHIR R4 population for demos, load tests and the QC engine: one
//! community health service centre (社区卫生服务中心) and its residents, enrolled in the
//! programmes of the national basic public health service (DOMAIN.md §2.3) by age, sex and
//! prevalence, with the records each programme produces, coded as docs/qc-profile.md says.
//!
//! The population is clean: at the reference date it meets every error rule of DOMAIN.md §4,
//! so that QC findings on it come from deliberately injected defects (`defect_rate`), each
//! labelled in `labels.jsonl` with the rule it should trigger.
//!
//! Determinism: every random draw comes from ChaCha8 seeded with the seed, one stream per
//! resident, and only `+ - * /` touch floats (no `ln`/`cos`, whose last bit may differ between
//! platforms' libm), so the same inputs give the same bytes everywhere.
//!
//! Identity card numbers are distinct within a population of up to 13,000,000 residents, as
//! the ledger takes one number for one person.

mod calendar;
mod codes;
mod defects;
mod demographics;
mod fhir;
mod identity;
mod institution;
mod labels;
mod patient;
mod programmes;
mod random;
mod records;
mod resident;
#[cfg(test)]
mod tests;

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use time::Date;

use fhir::bundle_file;
use identity::MAX_RESIDENTS;
use institution::Institution;
use resident::resident_with;

pub use labels::Label;

/// The catalogue rules (DOMAIN.md §4) `defect_rate` injects defects of.
pub const DEFECT_RULES: [&str; 45] = defects::RULES;

/// The labels file `write_population` writes when `defect_rate` > 0.
pub const LABELS_FILE: &str = "labels.jsonl";

/// Resident identity card number (居民身份证号码, GB 11643).
pub const CN_ID_SYSTEM: &str = "urn:oid:2.16.156.10011.1.3";

#[derive(Debug, Clone, PartialEq)]
pub struct SynthOptions {
    pub residents: usize,
    pub seed: u64,
    /// The evaluation day T: every record is dated before it. Supported years: 2000–9000.
    pub reference_date: Date,
    /// Probability (0–1) that a resident gets one labelled defect.
    pub defect_rate: f64,
}

impl SynthOptions {
    /// A clean population.
    pub fn new(residents: usize, seed: u64, reference_date: Date) -> Self {
        Self {
            residents,
            seed,
            reference_date,
            defect_rate: 0.0,
        }
    }
}

/// What [`write_population`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Files, the labels file included.
    pub files: usize,
    /// FHIR resources in all bundles.
    pub resources: usize,
    /// Residents with an injected defect (lines of the labels file).
    pub defects: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthFile {
    pub name: String,
    pub json: Vec<u8>,
    /// Number of entries in the bundle.
    pub resources: usize,
}

/// One shared bundle with the institution's Organization and its Practitioners.
pub fn institution_bundle(opts: &SynthOptions) -> SynthFile {
    let inst = Institution::new(opts.seed);
    bundle_file("institution.json".to_owned(), inst.entries)
}

/// Resident number `n` (0-based). Depends only on (seed, n, reference_date), so residents can be
/// generated in parallel or one at a time, and the same inputs give byte-identical output.
///
/// # Panics
///
/// If `opts.reference_date` is outside the years 2000–9000 or `opts.residents` is above
/// 13,000,000 ([`write_population`] reports those as errors instead), or `n` is not below
/// 13,000,000, the most residents that get distinct identity numbers.
pub fn resident_bundle(opts: &SynthOptions, n: usize) -> SynthFile {
    resident_labelled(opts, n).0
}

/// Resident `n`'s bundle and the label of its defect, if it got one. Panics as
/// [`resident_bundle`].
pub fn resident_labelled(opts: &SynthOptions, n: usize) -> (SynthFile, Option<Label>) {
    let inst = Institution::new(opts.seed);
    resident_with(&inst, opts, n)
}

/// Writes institution.json and resident-000001.json ... into `out` (created if missing), and
/// `labels.jsonl` when `defect_rate` > 0.
pub fn write_population(opts: &SynthOptions, out: &Path) -> anyhow::Result<Written> {
    check_options(opts)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let inst = Institution::new(opts.seed);
    let institution = bundle_file("institution.json".to_owned(), inst.entries.clone());
    write_file(out, &institution)?;

    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, opts.residents.max(1));
    let inst = &inst;
    let (resident_resources, mut labels) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                scope.spawn(move || -> anyhow::Result<(usize, Vec<(usize, Label)>)> {
                    let mut resources = 0;
                    let mut labels = Vec::new();
                    for n in (w..opts.residents).step_by(workers) {
                        let (file, label) = resident_with(inst, opts, n);
                        write_file(out, &file)?;
                        resources += file.resources;
                        labels.extend(label.map(|l| (n, l)));
                    }
                    Ok((resources, labels))
                })
            })
            .collect();
        let (mut total, mut labels) = (0, Vec::new());
        for handle in handles {
            match handle.join() {
                Ok(result) => {
                    let (resources, l) = result?;
                    total += resources;
                    labels.extend(l);
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        anyhow::Ok((total, labels))
    })?;
    let mut files = opts.residents + 1;
    if opts.defect_rate > 0.0 {
        labels.sort_by_key(|(n, _)| *n);
        write_labels(&out.join(LABELS_FILE), &labels)?;
        files += 1;
    }
    Ok(Written {
        files,
        resources: institution.resources + resident_resources,
        defects: labels.len(),
    })
}

fn write_labels(path: &Path, labels: &[(usize, Label)]) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    for (_, label) in labels {
        writeln!(w, "{}", label.json_line())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    w.flush()
        .with_context(|| format!("writing {}", path.display()))
}

fn check_options(opts: &SynthOptions) -> anyhow::Result<()> {
    if opts.residents > MAX_RESIDENTS {
        bail!(
            "{} residents are more than the {MAX_RESIDENTS} that get distinct identity numbers",
            opts.residents
        );
    }
    if !(0.0..=1.0).contains(&opts.defect_rate) {
        bail!(
            "defect rate {} is not a probability between 0 and 1",
            opts.defect_rate
        );
    }
    let year = opts.reference_date.year();
    if !(2000..=9000).contains(&year) {
        bail!(
            "reference date {} is outside the supported years 2000-9000",
            opts.reference_date
        );
    }
    Ok(())
}

fn write_file(dir: &Path, file: &SynthFile) -> anyhow::Result<()> {
    let path = dir.join(&file.name);
    std::fs::write(&path, &file.json).with_context(|| format!("writing {}", path.display()))
}
