//! `mtsa export`: a trained run as TorchScript (see `mtsa_eval::export`).

use anyhow::Result;
use mtsa_eval::ExportOptions;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Run folder of `mtsa train`.
    #[arg(long)]
    run: PathBuf,
    /// Output folder: model.pt, preprocess.json, postprocess.json, export.json.
    #[arg(long)]
    out: PathBuf,
    /// A scan (NIfTI or DICOM series) whose middle brain slices are saved as example input
    /// with mtsa's own outputs, to check another runtime against.
    #[arg(long)]
    example: Option<PathBuf>,
    /// Replace an existing folder written by `mtsa export` (never anything else).
    #[arg(long)]
    force: bool,
}

pub fn run(a: Args) -> Result<()> {
    let mut inputs = vec![("--run", a.run.as_path())];
    if let Some(e) = &a.example {
        inputs.push(("--example", e.as_path()));
    }
    crate::out_guard::check_out(
        "export",
        &a.out,
        mtsa_io::Existing::replace_if(a.force),
        &inputs,
    )?;
    let info = mtsa_eval::export(&ExportOptions {
        run: a.run,
        out: a.out.clone(),
        example: a.example,
    })?;
    println!(
        "TorchScript of the {} preset, input N x {} x {} x {}; {} example slices",
        info.model_preset,
        info.input_shape[0],
        info.input_shape[1],
        info.input_shape[2],
        info.example_slices
    );
    println!("outputs in {}", a.out.display());
    Ok(())
}
