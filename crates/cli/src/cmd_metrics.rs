use anyhow::{bail, Result};
use mtsa_io::read_nifti_labels;
use mtsa_metrics::{segmentation_metrics_3d, SurfaceOptions};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Predicted mask (NIfTI).
    #[arg(long)]
    pred: PathBuf,
    /// Reference mask (NIfTI), same shape and affine.
    #[arg(long)]
    gt: PathBuf,
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
    let pred = read_nifti_labels(&a.pred)?;
    let gt = read_nifti_labels(&a.gt)?;
    if pred.shape() != gt.shape() {
        bail!(
            "{}: shape {:?} differs from {} ({:?})",
            a.pred.display(),
            pred.shape(),
            a.gt.display(),
            gt.shape()
        );
    }
    if !pred.same_geometry(&gt, 1e-3) {
        bail!(
            "{}: affine differs from {} (the masks are not on the same grid)",
            a.pred.display(),
            a.gt.display()
        );
    }
    let fg = |v: &u16| {
        if a.labels.is_empty() {
            *v != 0
        } else {
            a.labels.contains(v)
        }
    };
    let (p, g) = (pred.data.map(fg), gt.data.map(fg));
    let opts = SurfaceOptions {
        empty_penalty_mm: a.empty_penalty_mm,
        ..SurfaceOptions::default()
    };
    let m = segmentation_metrics_3d(p.view(), g.view(), pred.spacing(), &opts)?;
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
