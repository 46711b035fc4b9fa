//! `mtsa radiomics`: Table 3's radiomics EGFR system on a prepared dataset.

use anyhow::Result;
use mtsa_eval::RadiomicsOptions;
use mtsa_radiomics::model::CvConfig;
use mtsa_radiomics::{Binning, Settings};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Prepared dataset folder; each patient's whole scan and GTV are read back from its cohort
    /// (hash-checked), NIfTI or DICOM alike.
    #[arg(long)]
    data: PathBuf,
    /// Output folder: features.csv, predictions.csv, model.json, metrics.json (features.csv and
    /// metrics.json only for a dataset without EGFR labels).
    #[arg(long)]
    out: PathBuf,
    /// Replace an existing folder written by `mtsa radiomics` (never anything else).
    #[arg(long)]
    force: bool,
    /// Fixed bin width of the grey-level discretisation (PyRadiomics `binWidth`), in the units
    /// of the normalised image.
    #[arg(long, default_value_t = mtsa_radiomics::MRI_BIN_WIDTH, conflicts_with = "bin_count")]
    bin_width: f64,
    /// A fixed number of bins instead of a bin width (PyRadiomics `binCount`).
    #[arg(long)]
    bin_count: Option<usize>,
    /// Z-score each scan and multiply by this (PyRadiomics `normalize` / `normalizeScale`); 0
    /// keeps the raw intensities, whose scale MRI does not fix.
    #[arg(long, default_value_t = mtsa_radiomics::MRI_NORMALIZE_SCALE)]
    normalize_scale: f64,
    /// Resample to isotropic voxels of this size in mm before extraction (cubic B-spline image,
    /// nearest-neighbour mask); 0 keeps each scan's own spacing.
    #[arg(long, default_value_t = 0.0)]
    resample_mm: f64,
    /// Cross-validation folds for the LASSO penalty.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Seed of the fold assignment and of the bootstrap intervals.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(a: Args) -> Result<()> {
    crate::out_guard::check_out(
        "radiomics",
        &a.out,
        mtsa_io::Existing::replace_if(a.force),
        &[("--data", &a.data)],
    )?;
    let settings = Settings {
        binning: match a.bin_count {
            Some(n) => Binning::Count(n),
            None => Binning::Width(a.bin_width),
        },
        // Only 0 means "off"; a negative or NaN value reaches validation and is refused.
        normalize_scale: (a.normalize_scale != 0.0).then_some(a.normalize_scale),
        resampled_spacing: (a.resample_mm != 0.0).then_some([a.resample_mm; 3]),
        ..Settings::default()
    };
    let bar = crate::progress::bar("radiomics");
    let report = mtsa_eval::radiomics(&RadiomicsOptions {
        data: a.data,
        out: a.out.clone(),
        settings,
        cv: CvConfig {
            folds: a.folds,
            seed: a.seed,
            ..CvConfig::default()
        },
        seed: a.seed,
        progress: Some(crate::progress::owned_callback(&bar)),
    })?;
    bar.finish_and_clear();
    match report.lambda {
        Some(lambda) => {
            println!(
                "{} features per patient; LASSO kept {} (lambda {lambda:.4}) on {} training \
                 patients",
                report.features,
                report.selected.len(),
                report.training_patients
            );
            println!(
                "{:<16} {:>8} {:>22} {:>7} {:>6}",
                "set", "patients", "EGFR acc (95% Wilson)", "AUC", "Bayes"
            );
            for s in &report.splits {
                println!(
                    "{:<16} {:>8} {}",
                    s.name,
                    s.patients,
                    crate::cmd_demo::egfr_cells(s.egfr.as_ref(), s.bayes_accuracy)
                );
            }
        }
        None => println!(
            "{} features of {} patients (features.csv); the dataset has no EGFR labels, so no \
             model",
            report.features, report.patients
        ),
    }
    for (id, reason) in &report.skipped {
        let stand_in = if report.lambda.is_some() {
            "; evaluated with the training prevalence"
        } else {
            ""
        };
        println!("{id}: no features ({reason}){stand_in}");
    }
    println!("outputs in {}", a.out.display());
    Ok(())
}
