//! The whole cohort on disk (spec "Output"): `clinical.csv`, `images/`, `labels/`, `truth.json`,
//! and the MNI152 notice that must accompany images derived from the template. Written into a
//! temporary directory renamed into place at the end, so a failure leaves nothing behind.
//!
//! With `SynthFormat::Dicom` the same patients are written the way a hospital export arrives
//! instead (`images/<id>/` MR series, `rtstruct/<id>.dcm` GTV structure set), so the DICOM
//! import path of `mtsa prepare` can be exercised end to end on data with known truth.

use crate::clinical::{write_clinical, ClinicalRow};
use crate::patient::{generate_patient, plan_patient, SyntheticPatient};
use crate::rng::{patient_rng, Purpose};
use crate::site::{standard_sites, SiteProfile};
use crate::template::{Template, MNI_LICENCE};
use crate::truth::{summarize, write_truth, CohortSummary, PatientTruth};
use crate::SynthError;
use mtsa_dicom::{write_rtstruct, write_series, SeriesMeta, UidSource};
use mtsa_io::{write_nifti, AtomicDir};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

/// Most workers used; each holds one patient's volumes (tens of MB).
const MAX_WORKERS: usize = 8;

/// ROI name of the GTV in the structure sets of a DICOM cohort: `mtsa prepare`'s default `--roi`.
pub const GTV_ROI_NAME: &str = "GTV";

/// How the images and masks of a cohort are stored. `clinical.csv` and `truth.json` are the same
/// in both, and so are the patients: the format never changes a random draw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SynthFormat {
    /// `images/<id>.nii.gz` and `labels/<id>.nii.gz`.
    #[default]
    Nifti,
    /// `images/<id>/` (one MR Image Storage file per slice) and `rtstruct/<id>.dcm` (an RT
    /// Structure Set with the ROI `GTV_ROI_NAME`). Voxels come back within the 16-bit rescale
    /// step of the NIfTI ones.
    Dicom,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynthConfig {
    /// Patients of the internal (training and temporal-test) site.
    pub patients: usize,
    /// Patients of each of the two external (test-only) sites.
    pub external_per_site: usize,
    pub seed: u64,
    /// Defaults to NIfTI so that settings saved before the option existed still read.
    #[serde(default)]
    pub format: SynthFormat,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            patients: 60,
            external_per_site: 20,
            seed: 42,
            format: SynthFormat::Nifti,
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
    let dir = AtomicDir::output(out, "synth", false)?;
    let masks = match cfg.format {
        SynthFormat::Nifti => "labels",
        SynthFormat::Dicom => "rtstruct",
    };
    for sub in ["images", masks] {
        let p = dir.path().join(sub);
        std::fs::create_dir_all(&p).map_err(|e| SynthError::file(&p, e))?;
    }

    let results = run_workers(dir.path(), template, &roster, cfg, progress)?;
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
    cfg: &SynthConfig,
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
                    write_patient(dir, template, site, *index, cfg)
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
    cfg: &SynthConfig,
) -> Result<PatientRecord, SynthError> {
    let p = generate_patient(template, site, index, cfg.seed);
    match cfg.format {
        SynthFormat::Nifti => {
            let name = format!("{}.nii.gz", p.id);
            write_nifti(&dir.join("images").join(&name), &p.image)?;
            write_nifti(&dir.join("labels").join(&name), &p.mask)?;
        }
        SynthFormat::Dicom => {
            // Keyed like every other draw of the patient, so its UIDs do not depend on the
            // cohort size either, and drawn from a stream of its own so they never shift a voxel.
            let uid_seed = patient_rng(cfg.seed, &site.name, index, Purpose::Dicom).random();
            write_dicom_patient(dir, &p, uid_seed)?;
        }
    }
    Ok((p.truth, p.clinical))
}

/// `images/<id>/` and `rtstruct/<id>.dcm`; the structure set references the series just written.
fn write_dicom_patient(dir: &Path, p: &SyntheticPatient, seed: u64) -> Result<(), SynthError> {
    let meta = SeriesMeta {
        patient_id: p.id.clone(),
        patient_name: p.id.clone(),
        series_description: "synthetic T1-CE".into(),
        uids: UidSource::Seeded(seed),
        ..SeriesMeta::default()
    };
    let series = write_series(&dir.join("images").join(&p.id), &p.image, &meta)?;
    let rtstruct = dir.join("rtstruct").join(format!("{}.dcm", p.id));
    write_rtstruct(
        &rtstruct,
        &p.mask,
        &series,
        GTV_ROI_NAME,
        UidSource::Seeded(seed),
    )?;
    Ok(())
}
