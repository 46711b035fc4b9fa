use anyhow::{Context, Result};
use mtsa_model::parse_device;
use mtsa_study::{StudyOptions, SYSTEMS};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Prepared dataset folder (from `mtsa prepare`).
    #[arg(long)]
    data: PathBuf,
    /// Study folder: study.json, runs/, evals/, tables.{csv,md,json}, study.html. An existing
    /// study there is resumed.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value = "paper")]
    preset: String,
    /// Seeds, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
    seeds: Vec<u64>,
    /// Systems to run, comma-separated (default: all of Tables 3-5: mtsa-net,
    /// mtsa-net-seg-only, mtsa-net-cls-only, mtsa-net-equal, mtsa-net-alpha0.7,
    /// mtsa-net-alpha0.9, unet, unet3plus, raunet, transunet, swin-unet, deseg, resnet50,
    /// densenet121, se-resnet50, rn-gap, radiomics).
    #[arg(long, value_delimiter = ',')]
    systems: Vec<String>,
    /// Epochs per training run (early stopping may end sooner).
    #[arg(long, default_value_t = 300)]
    epochs: usize,
    /// Wall-time limit per training run in minutes (stops after the epoch that passes it).
    #[arg(long)]
    minutes: Option<f64>,
    /// TOML with any subset of the training config, laid over every run's (as `mtsa train
    /// --config`); each row's model, loss mode and alpha stay the row's.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Patient-bootstrap resamples of the paired Dice and HD95 tests.
    #[arg(long, default_value_t = 2000)]
    resamples: usize,
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
}

pub fn run(a: Args) -> Result<()> {
    let device = parse_device(&a.device)?;
    a.minutes
        .map(mtsa_train::minutes)
        .transpose()
        .context("--minutes")?;
    crate::out_guard::check_out(
        "study",
        &a.out,
        mtsa_io::Existing::Keep,
        &[("--data", &a.data)],
    )?;
    let systems = if a.systems.is_empty() {
        SYSTEMS.iter().collect()
    } else {
        a.systems
            .iter()
            .map(|id| mtsa_study::system(id))
            .collect::<Result<Vec<_>, _>>()?
    };
    let config = a
        .config
        .as_ref()
        .map(|p| std::fs::read_to_string(p).with_context(|| p.display().to_string()))
        .transpose()?;
    let s = mtsa_study::study(&StudyOptions {
        data: a.data,
        out: a.out.clone(),
        preset: a.preset,
        seeds: a.seeds,
        systems,
        epochs: a.epochs,
        minutes: a.minutes,
        config,
        device,
        batch: a.batch,
        resamples: a.resamples,
        progress: crate::progress::is_terminal(),
    })?;
    println!(
        "{} runs ({} already finished) in {:.1} min; tables in {}",
        s.runs,
        s.skipped,
        s.seconds / 60.0,
        a.out.join("tables.md").display()
    );
    for r in s.rows.iter().filter(|r| r.split == "test" && r.table == 3) {
        let num = |m| {
            r.metrics
                .get(&m)
                .map_or("-".to_string(), |s: &mtsa_study::SeedSummary| {
                    format!("{:.3} ± {:.3}", s.mean, s.sd)
                })
        };
        println!(
            "{:<32} Dice {:>15}  EGFR acc {:>15}  AUC {:>15}  {}",
            r.label,
            num(mtsa_study::Metric::Dice),
            num(mtsa_study::Metric::Accuracy),
            num(mtsa_study::Metric::Auc),
            r.versus_mtsa
                .as_ref()
                .map_or("reference", |c| c.verdict.as_str())
        );
    }
    Ok(())
}
