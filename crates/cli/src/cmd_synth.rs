use crate::progress;
use anyhow::{Context, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Output cohort folder (clinical.csv, images/, labels/ or rtstruct/, truth.json).
    #[arg(long)]
    out: PathBuf,
    /// Patients of the internal site.
    #[arg(long, default_value_t = 60)]
    patients: usize,
    /// Patients of each of the two external sites.
    #[arg(long, default_value_t = 20)]
    external: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// nifti: images/<id>.nii.gz + labels/<id>.nii.gz; dicom: images/<id>/ MR series +
    /// rtstruct/<id>.dcm (ROI "GTV"). The same seed gives the same patients in either.
    #[arg(long, value_enum, default_value_t = Format::Nifti)]
    format: Format,
}

/// Mirrors `mtsa_synth::SynthFormat`, which stays free of clap.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Nifti,
    Dicom,
}

pub fn run(a: Args) -> Result<()> {
    crate::out_guard::check_out("synth", &a.out, mtsa_io::Existing::Refuse, &[])?;
    let cfg = mtsa_synth::SynthConfig {
        patients: a.patients,
        external_per_site: a.external,
        seed: a.seed,
        format: match a.format {
            Format::Nifti => mtsa_synth::SynthFormat::Nifti,
            Format::Dicom => mtsa_synth::SynthFormat::Dicom,
        },
    };
    let bar = progress::bar("synth");
    let summary = mtsa_synth::generate_cohort(&a.out, &cfg, &progress::callback(&bar))
        .with_context(|| format!("synthetic cohort into {}", a.out.display()))?;
    bar.finish_and_clear();
    tracing::info!(
        "wrote {} patients to {} in {:.1} s: EGFR prevalence {:.3}, Bayes accuracy {:.3}",
        summary.patients,
        a.out.display(),
        summary.seconds,
        summary.prevalence,
        summary.bayes_accuracy
    );
    Ok(())
}
