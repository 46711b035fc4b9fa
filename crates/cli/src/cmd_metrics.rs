use anyhow::{bail, Result};
use mtsa_eval::{fixed, mean_ci, read_mask_pair, score_folders, FolderOptions, FolderReport};
use mtsa_metrics::{segmentation_metrics_3d, SurfaceOptions};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Predicted mask (NIfTI), or a folder of them: `<case>.nii.gz`, or `<case>/gtv.nii.gz` as
    /// `mtsa predict` writes a batch.
    #[arg(long)]
    pred: PathBuf,
    /// Reference mask (NIfTI), same shape and affine; or a folder of `<case>.nii.gz`, each with
    /// its prediction in --pred.
    #[arg(long)]
    gt: PathBuf,
    /// Folders only: where cases.csv, lesions.csv and summary.json go (a new folder, or one
    /// `mtsa metrics` wrote, with --force).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace an earlier output of `mtsa metrics` at --out (never anything else).
    #[arg(long, requires = "out")]
    force: bool,
    /// Labels that count as foreground in both masks (default: any non-zero).
    #[arg(long, value_delimiter = ',')]
    labels: Vec<u16>,
    /// Penalty in mm for HD95 when exactly one mask is empty.
    #[arg(long, default_value_t = mtsa_metrics::DEFAULT_EMPTY_PENALTY_MM)]
    empty_penalty_mm: f64,
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> Result<()> {
    if a.labels.contains(&0) {
        bail!(
            "--labels {:?}: 0 is the background; list foreground labels only",
            a.labels
        );
    }
    match (a.pred.is_dir(), a.gt.is_dir()) {
        (true, true) => folders(a),
        (false, false) => pair(a),
        (pred_dir, _) => {
            let (dir, file) = match pred_dir {
                true => (&a.pred, &a.gt),
                false => (&a.gt, &a.pred),
            };
            bail!(
                "{} is a folder and {} is not: give two mask files, or two folders of masks",
                dir.display(),
                file.display()
            )
        }
    }
}

/// One predicted mask against its reference, printed.
fn pair(a: Args) -> Result<()> {
    if let Some(out) = &a.out {
        bail!(
            "--out {}: one pair of masks is printed; --out is for two folders of masks",
            out.display()
        );
    }
    let pair = read_mask_pair(&a.pred, &a.gt, &a.labels)?;
    let opts = SurfaceOptions {
        empty_penalty_mm: a.empty_penalty_mm,
        ..SurfaceOptions::default()
    };
    let m = segmentation_metrics_3d(pair.pred.view(), pair.gt.view(), pair.spacing, &opts)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&m)?);
    } else {
        let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
        println!(
            "Dice {:.4}  HD95 {:.2} mm  HD {:.2} mm  ASSD {:.2} mm  precision {}  recall {}",
            m.dice,
            m.hd95_mm,
            m.hd_mm,
            m.assd_mm,
            opt(m.precision),
            opt(m.recall)
        );
        if let Some(l) = &m.lesions {
            println!(
                "lesions: {} reference, {} detected, {} false positive; lesion-wise Dice {:.4}",
                l.gt_lesions - l.ignored_gt_lesions,
                l.true_positives,
                l.false_positives,
                l.lesion_wise_dice
            );
        }
    }
    Ok(())
}

/// Every case of two folders, written to --out and summarised on the terminal.
fn folders(a: Args) -> Result<()> {
    let Some(out) = a.out else {
        bail!(
            "{} and {} are folders: --out names where cases.csv, lesions.csv and summary.json go",
            a.pred.display(),
            a.gt.display()
        );
    };
    crate::out_guard::check_out(
        "metrics",
        &out,
        mtsa_io::Existing::replace_if(a.force),
        &[("--pred", &a.pred), ("--gt", &a.gt)],
    )?;
    let bar = crate::progress::bar("cases");
    let progress = crate::progress::owned_callback(&bar);
    let report = score_folders(
        &FolderOptions {
            pred: a.pred,
            gt: a.gt,
            out: out.clone(),
            labels: a.labels,
            empty_penalty_mm: a.empty_penalty_mm,
            force: a.force,
        },
        &*progress,
    )?;
    bar.finish_and_clear();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", summary(&report));
        println!("per case and per lesion: {}", out.display());
    }
    Ok(())
}

/// The folder summary as a few terminal lines.
fn summary(r: &FolderReport) -> String {
    let d = &r.detection;
    let f = fixed;
    let bins: Vec<String> = d
        .by_size
        .iter()
        .map(|b| format!("{} {}/{}", b.bin, b.detected, b.lesions))
        .collect();
    format!(
        "{} cases: 3-D Dice {} (median {}), HD95 {} mm\n\
         lesions {}: sensitivity {} (< 6 mm {}, >= 6 mm {}), false lesions per case {}, \
         lesion-wise Dice {}\n\
         detected by size: {}\n",
        r.cases,
        mean_ci(d.dice, 3),
        f(d.dice_median, 3),
        f(d.hd95_mm.map(|m| m.mean), 1),
        d.lesions,
        f(d.lesion_sensitivity, 3),
        f(d.sensitivity_under_6mm, 3),
        f(d.sensitivity_6mm_and_over, 3),
        f(d.false_positive_lesions_per_patient, 2),
        mean_ci(d.lesion_wise_dice, 3),
        bins.join(", ")
    )
}
