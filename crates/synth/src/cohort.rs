//! The whole cohort on disk (spec "Output"): `clinical.csv`, `images/`, `labels/`, `truth.json`,
//! and the MNI152 notice that must accompany images derived from the template. Written into a
//! temporary directory renamed into place at the end, so a failure leaves nothing behind.

use crate::clinical::{write_clinical, ClinicalRow};
use crate::patient::{generate_patient, plan_patient};
use crate::site::{standard_sites, SiteProfile};
use crate::template::{Template, MNI_LICENCE};
use crate::truth::{summarize, write_truth, CohortSummary, PatientTruth};
use crate::SynthError;
use mtsa_io::{write_nifti, AtomicDir};
use serde::{Deserialize, Serialize};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

/// Most workers used; each holds one patient's volumes (tens of MB).
const MAX_WORKERS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynthConfig {
    /// Patients of the internal (training and temporal-test) site.
    pub patients: usize,
    /// Patients of each of the two external (test-only) sites.
    pub external_per_site: usize,
    pub seed: u64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            patients: 60,
            external_per_site: 20,
            seed: 42,
        }
    }
}

impl SynthConfig {
    /// (site, index within site) for every patient, in cohort order.
    fn roster(&self) -> Vec<(SiteProfile, usize)> {
        standard_sites()
            .into_iter()
            .flat_map(|s| {
                let n = if s.external {
                    self.external_per_site
                } else {
                    self.patients
                };
                (0..n).map(move |i| (s.clone(), i))
            })
            .collect()
    }
}

/// The truth of every patient without rendering a voxel (the statistics of large cohorts).
/// Identical to what `generate_cohort` writes for the same settings.
pub fn truth_only(cfg: &SynthConfig) -> Result<Vec<PatientTruth>, SynthError> {
    let template = Template::embedded()?;
    Ok(cfg
        .roster()
        .iter()
        .map(|(site, i)| plan_patient(template, site, *i, cfg.seed).truth)
        .collect())
}

/// Writes the cohort to `out` (which must not exist or be empty). `progress(done, total)` is
/// called on the calling thread as patients complete.
pub fn generate_cohort(
    out: &Path,
    cfg: &SynthConfig,
    progress: &dyn Fn(usize, usize),
) -> Result<CohortSummary, SynthError> {
    let start = Instant::now();
    let roster = cfg.roster();
    if roster.is_empty() {
        return Err(SynthError::Config(
            "the cohort has no patients (set --patients or --external above 0)".into(),
        ));
    }
    let template = Template::embedded()?;
    let dir = AtomicDir::create(out, false)?;
    for sub in ["images", "labels"] {
        let p = dir.path().join(sub);
        std::fs::create_dir_all(&p).map_err(|e| SynthError::file(&p, e))?;
    }

    let results = run_workers(dir.path(), template, &roster, cfg.seed, progress)?;
    let (truths, rows): (Vec<PatientTruth>, Vec<ClinicalRow>) = results.into_iter().unzip();

    write_clinical(&dir.path().join("clinical.csv"), &rows)?;
    let mut summary = summarize(&truths, cfg.seed);
    let sites: Vec<SiteProfile> = standard_sites()
        .into_iter()
        .filter(|s| summary.sites.iter().any(|x| x.site == s.name))
        .collect();
    write_truth(&dir.path().join("truth.json"), &summary, &sites, &truths)?;
    let notice = dir.path().join("LICENSE-MNI152.txt");
    std::fs::write(&notice, MNI_LICENCE).map_err(|e| SynthError::file(&notice, e))?;
    dir.commit()?;
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

type PatientRecord = (PatientTruth, ClinicalRow);

/// Renders and writes patients on a few threads; results come back in roster order whatever
/// the scheduling, and the first error stops the remaining work.
fn run_workers(
    dir: &Path,
    template: &Template,
    roster: &[(SiteProfile, usize)],
    seed: u64,
    progress: &dyn Fn(usize, usize),
) -> Result<Vec<PatientRecord>, SynthError> {
    let total = roster.len();
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_WORKERS)
        .min(total);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, Result<PatientRecord, SynthError>)>();
    let mut slots: Vec<Option<PatientRecord>> = vec![None; total];
    let mut first_error = None;
    progress(0, total);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total || stop.load(Ordering::Relaxed) {
                    break;
                }
                let (site, index) = &roster[i];
                let made = catch_unwind(AssertUnwindSafe(|| {
                    write_patient(dir, template, site, *index, seed)
                }))
                .unwrap_or_else(|_| Err(SynthError::Worker(site.patient_id(*index))));
                if tx.send((i, made)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut done = 0;
        for (i, made) in rx {
            match made {
                Ok(record) => {
                    slots[i] = Some(record);
                    done += 1;
                    progress(done, total);
                }
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    first_error.get_or_insert(e);
                }
            }
        }
    });
    if let Some(e) = first_error {
        return Err(e);
    }
    slots
        .into_iter()
        .enumerate()
        .map(|(i, s)| s.ok_or_else(|| SynthError::Worker(roster[i].0.patient_id(roster[i].1))))
        .collect()
}

fn write_patient(
    dir: &Path,
    template: &Template,
    site: &SiteProfile,
    index: usize,
    seed: u64,
) -> Result<PatientRecord, SynthError> {
    let p = generate_patient(template, site, index, seed);
    let name = format!("{}.nii.gz", p.id);
    write_nifti(&dir.join("images").join(&name), &p.image)?;
    write_nifti(&dir.join("labels").join(&name), &p.mask)?;
    Ok((p.truth, p.clinical))
}
