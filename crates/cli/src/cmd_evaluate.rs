use anyhow::Result;
use mtsa_eval::EvaluateOptions;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Run folder of `mtsa train`.
    #[arg(long)]
    run: PathBuf,
    /// Prepared dataset folder.
    #[arg(long)]
    data: PathBuf,
    /// test, val, external-<site>, or all (every split except train; whole scans: also not the
    /// validation patients of a calibrated run, which chose its post-processing).
    #[arg(long, default_value = "test")]
    split: String,
    /// Report folder: metrics.json, patients.csv, slices.csv, report.html.
    #[arg(long)]
    out: PathBuf,
    /// Seed of the patient bootstrap.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Replace an existing report folder written by `mtsa evaluate` (never anything else).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    inference: crate::inference_args::InferenceArgs,
    /// Score only the GTV slices (the paper's table), not every patient's whole scan. Whole
    /// scans are read back from the cohort the dataset was prepared from.
    #[arg(long)]
    slices_only: bool,
}

pub fn run(a: Args) -> Result<()> {
    crate::out_guard::check_out(
        "evaluate",
        &a.out,
        mtsa_io::Existing::replace_if(a.force),
        &[("--run", &a.run), ("--data", &a.data)],
    )?;
    let bar = crate::progress::bar("whole scans");
    let opts = EvaluateOptions {
        run: a.run,
        data: a.data,
        split: a.split,
        out: a.out.clone(),
        load: a.inference.load(16)?,
        seed: a.seed,
        whole_scan: !a.slices_only,
        progress: Some(crate::progress::owned_callback(&bar)),
    };
    let report = mtsa_eval::evaluate(&opts)?;
    bar.finish_and_clear();
    println!("{}", crate::cmd_demo::summary_table(&report));
    println!("report: {}", a.out.join("report.html").display());
    Ok(())
}
