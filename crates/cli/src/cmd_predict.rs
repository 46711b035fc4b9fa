use anyhow::{bail, Result};
use mtsa_eval::{BatchOptions, Outputs, PredictOptions, SeriesPick};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("dicom_outputs").multiple(true)))]
pub struct Args {
    /// Run folder of `mtsa train`.
    #[arg(long)]
    run: PathBuf,
    /// T1-CE volume: a NIfTI file, a DICOM series folder, one DICOM file (its series, read
    /// from its folder), or a DICOMDIR (the export it indexes). Or many studies: a folder of
    /// NIfTI files and/or series folders, or a list file with one such path per line.
    #[arg(long)]
    input: PathBuf,
    /// Output folder: gtv.nii.gz, egfr.json, overlay PNGs (and rtstruct.dcm, seg.dcm,
    /// probability.nii.gz when asked for); for many
    /// studies one such folder per study plus summary.csv. A batch folder is continued on a
    /// rerun (finished studies are skipped); --force starts it afresh.
    #[arg(long)]
    out: PathBuf,
    /// Also write an RT Structure Set referencing the input DICOM series.
    #[arg(long, group = "dicom_outputs")]
    rtstruct: bool,
    /// With --rtstruct or --seg: each lesion also as its own ROI or segment after the whole GTV
    /// (GTV_mtsa_1, GTV_mtsa_2, ... in the structure set, GTV_1, GTV_2, ... in the
    /// Segmentation, numbered as egfr.json's lesion_list, largest first), so a radiosurgery plan
    /// can treat each metastasis as its own target.
    #[arg(long, requires = "dicom_outputs")]
    lesion_rois: bool,
    /// Also write a binary DICOM Segmentation (SEG) referencing the input DICOM series.
    #[arg(long, group = "dicom_outputs")]
    seg: bool,
    /// Also write probability.nii.gz: the network's GTV probability (0-1, float32) on the
    /// scan's grid, the map the lesion candidates are cut from (as nnU-Net's
    /// --save_probabilities keeps its softmax). The mask is not this map thresholded: the run's
    /// lesion classifier or minimum lesion volume decide what is kept.
    #[arg(long)]
    probabilities: bool,
    /// Series Instance UID when the folder holds several series (a whole study's export: series
    /// are also looked for in its subfolders).
    #[arg(long)]
    series_uid: Option<String>,
    /// The series whose Series Description matches this pattern (case-insensitive, `*` for any
    /// characters, e.g. "*T1*post*"): for studies exported whole, one study or a batch. No
    /// match, or several, fails the study and lists its series.
    #[arg(long, conflicts_with = "series_uid")]
    series_description: Option<String>,
    /// Brain mask (NIfTI on the scan's grid, nonzero inside; e.g. from SynthStrip or HD-BET)
    /// for a scan that is not skull-stripped: the network and the lesion classifier were
    /// trained on skull-stripped scans, where scalp and fat would be read as brain. One study
    /// only.
    #[arg(long)]
    brain_mask: Option<PathBuf>,
    /// Many studies: a folder of brain masks, `<study>.nii.gz` for each study that is not
    /// skull-stripped (the study's file name without `.nii.gz`, or its series folder's name).
    /// Studies without one are read as they are; a mask that names no study is refused.
    #[arg(long)]
    brain_masks: Option<PathBuf>,
    /// Replace an existing output folder written by `mtsa predict` (never anything else).
    #[arg(long)]
    force: bool,
    /// Many studies on several machines: this machine's part, 0..PARTS (e.g. Slurm's
    /// SLURM_ARRAY_TASK_ID, Kubernetes' JOB_COMPLETION_INDEX).
    #[arg(long, default_value_t = 0)]
    part: usize,
    /// Number of parts the studies are split into (every PARTS-th study of the sorted list).
    #[arg(long, default_value_t = 1)]
    parts: usize,
    #[command(flatten)]
    inference: crate::inference_args::InferenceArgs,
}

/// What the arguments ask to be written beside each study's mask and `egfr.json`.
fn outputs(a: &Args) -> Outputs {
    Outputs {
        rtstruct: a.rtstruct,
        lesion_rois: a.lesion_rois,
        seg: a.seg,
        probability: a.probabilities,
    }
}

pub fn run(a: Args) -> Result<()> {
    if let Some(studies) = mtsa_eval::batch_studies(&a.input)? {
        return run_batch(a, studies);
    }
    if let Some(masks) = &a.brain_masks {
        bail!(
            "--brain-masks {} is a batch's folder of masks; one study takes --brain-mask FILE",
            masks.display()
        );
    }
    if a.parts != 1 || a.part != 0 {
        bail!(
            "--input {} is one study: --part/--parts split a folder or list of studies",
            a.input.display()
        );
    }
    let mut inputs: Vec<(&str, &Path)> = vec![("--run", &a.run), ("--input", &a.input)];
    if let Some(brain) = &a.brain_mask {
        inputs.push(("--brain-mask", brain));
    }
    crate::out_guard::check_out(
        "predict",
        &a.out,
        mtsa_io::Existing::replace_if(a.force),
        &inputs,
    )?;
    let (series, outputs) = (series_pick(&a), outputs(&a));
    let opts = PredictOptions {
        run: a.run,
        input: a.input,
        out: a.out.clone(),
        load: a.inference.load(8)?,
        outputs,
        series,
        brain_mask: a.brain_mask,
    };
    let s = mtsa_eval::predict(&opts)?;
    // Where the call came from: the network's voting slices, or the measured lesions (the
    // training prevalence when none was found) with the network's vote beside them.
    let phenotype = s.egfr_source == mtsa_eval::EGFR_FROM_PHENOTYPE;
    let evidence = match (phenotype, s.network_egfr_probability) {
        (true, Some(v)) => format!(
            "from the lesion phenotype; network vote {v:.3} over {} slices",
            s.slices_used.len()
        ),
        (true, None) => "from the lesion phenotype".to_string(),
        (false, _) => format!("from {} slices", s.slices_used.len()),
    };
    match (&s.egfr_call, s.egfr_probability) {
        (Some(call), Some(p)) if s.gtv_voxels > 0 || !phenotype => println!(
            "GTV {:.2} ml ({} voxels, {} lesions); EGFR {call} (P(mutant) = {p:.3}, {evidence})",
            s.gtv_volume_ml, s.gtv_voxels, s.lesions
        ),
        (Some(call), Some(p)) => println!(
            "no GTV predicted in {} brain slices; empty mask written; EGFR {call} (P(mutant) = \
             {p:.3}, the training prevalence: no lesion to measure)",
            s.slices_run
        ),
        _ => println!(
            "no GTV predicted in {} brain slices; empty mask written, no EGFR call",
            s.slices_run
        ),
    }
    for l in &s.lesion_list {
        let [x, y, z] = l.centroid_ras_mm;
        println!(
            "  lesion {}: {:.2} ml ({:.1} mm), centre RAS ({x:.1}, {y:.1}, {z:.1}) mm, slices {}-{}, peak probability {}{}",
            l.number,
            l.volume_ml,
            l.equivalent_diameter_mm,
            l.slices[0],
            l.slices[1],
            l.peak_probability.map_or("-".into(), |p| format!("{p:.3}")),
            l.lesion_probability
                .map_or(String::new(), |p| format!(", lesion probability {p:.3}"))
        );
    }
    for w in &s.warnings {
        tracing::warn!("{w}");
    }
    println!("outputs in {}", a.out.display());
    Ok(())
}

/// The series `--series-uid` or `--series-description` names, else the folder's only one.
fn series_pick(a: &Args) -> SeriesPick {
    match (&a.series_uid, &a.series_description) {
        (Some(uid), _) => SeriesPick::Uid(uid.clone()),
        (None, Some(pattern)) => SeriesPick::Described(pattern.clone()),
        (None, None) => SeriesPick::Only,
    }
}

/// Many studies: the batch folder is created or continued (`--force`: started afresh), then
/// every study of this part runs; failures are listed and make the exit status non-zero, after
/// all the others have run.
fn run_batch(a: Args, studies: Vec<mtsa_eval::Study>) -> Result<()> {
    if a.series_uid.is_some() {
        bail!("--series-uid picks a series of one study; it cannot apply to a batch");
    }
    if a.brain_mask.is_some() {
        bail!(
            "--brain-mask is one study's mask; a batch takes --brain-masks DIR with \
             <study>.nii.gz for each study that needs one"
        );
    }
    let studies = match &a.brain_masks {
        Some(dir) => mtsa_eval::with_brain_masks(studies, dir)?,
        None => studies,
    };
    let existing = if a.force {
        mtsa_io::Existing::Replace
    } else {
        mtsa_io::Existing::Keep
    };
    let mut inputs: Vec<(&str, &Path)> = vec![("--run", &a.run), ("--input", &a.input)];
    if let Some(masks) = &a.brain_masks {
        inputs.push(("--brain-masks", masks));
    }
    crate::out_guard::check_out("predict-batch", &a.out, existing, &inputs)?;
    // Argument errors before the folder is claimed, so they leave nothing behind.
    mtsa_eval::shard(&studies, a.part, a.parts)?;
    let load = a.inference.load(8)?;
    // Without --force the folder is kept: parts on other machines may be writing into it, and
    // only this part's own studies and summary are ever replaced.
    mtsa_io::claim_output_dir(&a.out, "predict-batch", existing)?;
    let bar = crate::progress::bar("studies");
    let (series, outputs) = (series_pick(&a), outputs(&a));
    let rows = mtsa_eval::predict_batch(&BatchOptions {
        run: a.run,
        studies,
        out: a.out.clone(),
        load,
        outputs,
        series,
        part: a.part,
        parts: a.parts,
        progress: Some(crate::progress::owned_callback(&bar)),
    })?;
    bar.finish_and_clear();
    let count = |status: &str| rows.iter().filter(|r| r.status == status).count();
    println!(
        "{} studies: {} done, {} done earlier, {} failed; summary in {}",
        rows.len(),
        count("done"),
        count("done earlier"),
        count("failed"),
        a.out
            .join(mtsa_eval::summary_name(a.part, a.parts))
            .display()
    );
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| r.status == "failed")
        .map(|r| r.study.as_str())
        .collect();
    if !failed.is_empty() {
        bail!("{} studies failed: {}", failed.len(), failed.join(", "));
    }
    Ok(())
}
