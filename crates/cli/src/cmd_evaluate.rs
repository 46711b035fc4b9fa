use anyhow::Result;
use mtsa_eval::EvaluateOptions;
use mtsa_model::{parse_device, LayoutChoice};
use mtsa_train::LoadOptions;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Run folder of `mtsa train`.
    #[arg(long)]
    run: PathBuf,
    /// Prepared dataset folder.
    #[arg(long)]
    data: PathBuf,
    /// test, val, external-<site>, or all (every split except train).
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
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Memory layout of the network: auto (time NCHW and NHWC once per machine and model,
    /// cached in $XDG_CACHE_HOME/mtsa or ~/.cache/mtsa, and keep the faster), nchw or nhwc.
    #[arg(long, default_value = "auto")]
    layout: LayoutChoice,
    /// Number format of MTSA-Net: f32, or bf16 (1.5-1.7x faster on
    /// CPUs with native bf16 instructions, measured on an EPYC with AVX512_BF16; probabilities
    /// differ from f32 in the second or third decimal: see the README before using it for
    /// planning).
    #[arg(long, default_value = "f32")]
    precision: mtsa_model::Precision,
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
        load: LoadOptions {
            device: parse_device(&a.device)?,
            layout: a.layout,
            batch: 16,
            precision: a.precision,
        },
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
