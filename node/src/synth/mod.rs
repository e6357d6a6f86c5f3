//! Deterministic synthetic FHIR R4 population for demos and load tests: one community health
//! service centre (社区卫生服务中心) and its residents, with the records the national basic
//! public health service produces (DOMAIN.md §2.3): hypertension and type 2 diabetes
//! follow-ups, the annual health check of the elderly, child health checks and the national
//! immunisation schedule.
//!
//! The data is meant to be clean: it follows the schedules and value sets of DOMAIN.md §4 so
//! that QC findings on it come from deliberately injected faults, not from the generator.
//!
//! Determinism: every random draw comes from ChaCha8 seeded with the seed, one stream per
//! resident, and only `+ - * /` touch floats (no `ln`/`cos`, whose last bit may differ between
//! platforms' libm), so the same inputs give the same bytes everywhere.
//!
//! Identity card numbers are distinct within a population of up to 13,000,000 residents, as
//! the ledger takes one number for one person.

mod calendar;
mod child;
mod chronic;
mod codes;
mod demographics;
mod fhir;
mod identity;
mod institution;
mod patient;
mod random;
mod resident;
#[cfg(test)]
mod tests;

use std::path::Path;

use anyhow::{Context, bail};
use time::Date;

use fhir::bundle_file;
use identity::MAX_RESIDENTS;
use institution::Institution;
use resident::resident_with;

/// Resident identity card number (居民身份证号码, GB 11643).
pub const CN_ID_SYSTEM: &str = "urn:oid:2.16.156.10011.1.3";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthOptions {
    pub residents: usize,
    pub seed: u64,
    /// No record is dated after this day. Supported years: 2000–9000.
    pub reference_date: Date,
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
    let inst = Institution::new(opts.seed);
    resident_with(&inst, opts, n)
}

/// Writes institution.json and resident-000001.json ... into `out` (created if missing); returns files written and total resources.
pub fn write_population(opts: &SynthOptions, out: &Path) -> anyhow::Result<(usize, usize)> {
    check_options(opts)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let inst = Institution::new(opts.seed);
    let institution = bundle_file("institution.json".to_owned(), inst.entries.clone());
    write_file(out, &institution)?;

    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, opts.residents.max(1));
    let inst = &inst;
    let resident_resources = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                scope.spawn(move || -> anyhow::Result<usize> {
                    let mut resources = 0;
                    for n in (w..opts.residents).step_by(workers) {
                        let file = resident_with(inst, opts, n);
                        write_file(out, &file)?;
                        resources += file.resources;
                    }
                    Ok(resources)
                })
            })
            .collect();
        let mut total = 0;
        for handle in handles {
            match handle.join() {
                Ok(resources) => total += resources?,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        anyhow::Ok(total)
    })?;
    Ok((
        opts.residents + 1,
        institution.resources + resident_resources,
    ))
}

fn check_options(opts: &SynthOptions) -> anyhow::Result<()> {
    if opts.residents > MAX_RESIDENTS {
        bail!(
            "{} residents are more than the {MAX_RESIDENTS} that get distinct identity numbers",
            opts.residents
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
