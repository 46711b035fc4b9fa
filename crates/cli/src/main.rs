//! `mtsa`: cohort in, MTSA-Net trained and evaluated, new patients predicted.

mod cmd_bench;
mod cmd_demo;
mod cmd_evaluate;
mod cmd_export;
mod cmd_info;
mod cmd_metrics;
mod cmd_predict;
mod cmd_prepare;
mod cmd_radiomics;
mod cmd_study;
mod cmd_synth;
mod cmd_train;
mod inference_args;
mod memory;
mod out_guard;
mod progress;
mod run_card;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mtsa",
    version,
    about = "MTSA-Net: GTV segmentation and EGFR genotyping of brain metastases from T1-CE MRI"
)]
struct Cli {
    /// CPU threads for libtorch (default: all cores).
    #[arg(long, global = true)]
    threads: Option<i32>,
    /// Only warnings and errors: no progress bars, no per-step log lines.
    #[arg(long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the synthetic cohort (MNI152 anatomy, simulated metastases, known EGFR truth).
    Synth(cmd_synth::Args),
    /// Ingest a cohort (NIfTI or DICOM images, masks or RT Structure Sets, a clinical table) into a
    /// dataset of prepared slices with patient splits.
    Prepare(cmd_prepare::Args),
    /// Train MTSA-Net (or an ablation) on a prepared dataset.
    Train(cmd_train::Args),
    /// Evaluate a trained run on a split, as the paper does, and write the report.
    Evaluate(cmd_evaluate::Args),
    /// Predict the GTV mask and EGFR status of a new patient's whole volume.
    Predict(cmd_predict::Args),
    /// Synthetic cohort -> prepare -> train -> evaluate -> report, end to end.
    Demo(cmd_demo::Args),
    /// The trained network as TorchScript (model.pt) for PyTorch users, with its preprocessing.
    Export(cmd_export::Args),
    /// Radiomics features of every patient's GTV (PyRadiomics-compatible) and the radiomics
    /// EGFR model of Table 3, fitted on the training patients and scored on the other splits.
    Radiomics(cmd_radiomics::Args),
    /// The paper's experiments (Tables 3-5): every system over several seeds, the paper's
    /// numbers beside ours, paired tests against MTSA-Net. Resumes an unfinished study.
    Study(cmd_study::Args),
    /// Parameters, FLOPs and input size of a model preset; or what a trained run is (--run).
    Info(cmd_info::Args),
    /// Compare two masks (NIfTI): Dice, HD95, ASSD, lesion-wise scores; or two folders of masks
    /// (every case, lesions by size, false lesions per case: cases.csv, lesions.csv, summary.json).
    Metrics(cmd_metrics::Args),
    /// Time inference, a training step or a whole patient (see bench/compare.sh).
    Bench(cmd_bench::Args),
}

fn main() -> ExitCode {
    let signals = mtsa_io::remove_temporaries_on_signal();
    let cli = Cli::parse();
    progress::set_quiet(cli.quiet);
    let default_level = if cli.quiet { "warn" } else { "info" };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(progress::is_terminal())
        .without_time()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MTSA_LOG")
                .unwrap_or_else(|_| default_level.into()),
        )
        .init();
    if let Err(e) = signals {
        tracing::warn!("{e}: an interrupted run may leave temporary files behind");
    }
    // Activations are allocated and freed every step; keeping freed memory avoids an mmap, page
    // faults and kernel zeroing for each of them.
    memory::keep_freed_memory();
    if let Some(t) = cli.threads {
        tch::set_num_threads(t.max(1));
    }
    let result = match cli.command {
        Command::Synth(a) => cmd_synth::run(a),
        Command::Prepare(a) => cmd_prepare::run(a),
        Command::Train(a) => cmd_train::run(a),
        Command::Evaluate(a) => cmd_evaluate::run(a),
        Command::Predict(a) => cmd_predict::run(a),
        Command::Demo(a) => cmd_demo::run(a),
        Command::Export(a) => cmd_export::run(a),
        Command::Radiomics(a) => cmd_radiomics::run(a),
        Command::Study(a) => cmd_study::run(a),
        Command::Info(a) => cmd_info::run(a),
        Command::Metrics(a) => cmd_metrics::run(a),
        Command::Bench(a) => cmd_bench::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", mtsa_io::public_names(&one_line(&e)));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each said once: our error types already print their
/// cause (`{path}: {source}`), which anyhow's `{:#}` would repeat ("...: No space left on device
/// (os error 28): No space left on device (os error 28)").
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain().map(|c| c.to_string()) {
        if line.is_empty() {
            line = cause;
        } else if !line.contains(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::one_line;

    /// A full disk while writing an output: the path and the system's reason, once each; a
    /// context added above it stays in front.
    #[test]
    fn an_error_and_its_causes_are_said_once_each() {
        let full = std::io::Error::from_raw_os_error(28);
        let e = anyhow::Error::from(mtsa_io::IoError::io("/out/gtv.nii.gz", full));
        let line = one_line(&e);
        assert_eq!(line.matches("No space left on device").count(), 1, "{line}");
        assert!(line.starts_with("/out/gtv.nii.gz: "), "{line}");
        let line = one_line(&e.context("writing the prediction"));
        assert!(
            line.starts_with("writing the prediction: /out/gtv.nii.gz: No space left"),
            "{line}"
        );
    }
}
