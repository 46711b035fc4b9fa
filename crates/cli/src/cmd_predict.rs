use anyhow::Result;
use mtsa_eval::PredictOptions;
use mtsa_model::{parse_device, LayoutChoice};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Run folder of `mtsa train`.
    #[arg(long)]
    run: PathBuf,
    /// T1-CE volume: a NIfTI file or a DICOM series folder.
    #[arg(long)]
    input: PathBuf,
    /// Output folder: gtv.nii.gz, egfr.json, overlay PNGs (and rtstruct.dcm).
    #[arg(long)]
    out: PathBuf,
    /// Also write an RT Structure Set referencing the input DICOM series.
    #[arg(long)]
    rtstruct: bool,
    /// Series Instance UID when the folder holds several series.
    #[arg(long)]
    series_uid: Option<String>,
    /// Replace an existing output folder written by `mtsa predict` (never anything else).
    #[arg(long)]
    force: bool,
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Memory layout of the network: auto (time NCHW and NHWC once per machine and model,
    /// cached in $XDG_CACHE_HOME/mtsa or ~/.cache/mtsa, and keep the faster), nchw or nhwc.
    #[arg(long, default_value = "auto")]
    layout: LayoutChoice,
}

pub fn run(a: Args) -> Result<()> {
    crate::out_guard::check_out(
        "predict",
        &a.out,
        mtsa_io::Existing::replace_if(a.force),
        &[("--run", &a.run), ("--input", &a.input)],
    )?;
    let opts = PredictOptions {
        run: a.run,
        input: a.input,
        out: a.out.clone(),
        device: parse_device(&a.device)?,
        batch: 8,
        layout: a.layout,
        rtstruct: a.rtstruct,
        series_uid: a.series_uid,
    };
    let s = mtsa_eval::predict(&opts)?;
    match (&s.egfr_call, s.egfr_probability) {
        (Some(call), Some(p)) => println!(
            "GTV {:.2} ml ({} voxels); EGFR {call} (P(mutant) = {p:.3}, from {} slices)",
            s.gtv_volume_ml,
            s.gtv_voxels,
            s.slices_used.len()
        ),
        _ => println!(
            "no GTV predicted in {} brain slices; empty mask written, no EGFR call",
            s.slices_run
        ),
    }
    println!("outputs in {}", a.out.display());
    Ok(())
}
