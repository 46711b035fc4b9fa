//! `mtsa metrics` on two folders: hand-built masks with known lesions, a known false lesion and
//! a known miss give exact case, lesion and summary numbers; pairing errors name the case and
//! write nothing.

use mtsa_eval::{score_folders, FolderOptions, FolderReport};
use mtsa_io::{write_nifti, Affine, Volume};
use ndarray::{s, Array3};
use std::path::Path;

/// 1 x 1 x 2 mm voxels: a voxel is 2 mm³.
const AFFINE: Affine = [
    [1.0, 0.0, 0.0, 0.0],
    [0.0, 1.0, 0.0, 0.0],
    [0.0, 0.0, 2.0, 0.0],
    [0.0, 0.0, 0.0, 1.0],
];

/// A 24 x 24 x 12 mask with the given boxes (`[lo, hi)` per axis) set.
fn mask(boxes: &[[(usize, usize); 3]]) -> Volume<u8> {
    let mut m = Array3::<u8>::zeros((24, 24, 12));
    for [a, b, c] in boxes {
        m.slice_mut(s![a.0..a.1, b.0..b.1, c.0..c.1]).fill(1);
    }
    Volume::new(m, AFFINE)
}

/// 3 x 3 x 2 voxels, 36 mm³: 4.1 mm across (the 3-6 mm bin).
const SMALL: [(usize, usize); 3] = [(2, 5), (2, 5), (2, 4)];
/// 6 x 6 x 4 voxels, 288 mm³: 8.2 mm across (6-10 mm).
const LARGE: [(usize, usize); 3] = [(12, 18), (12, 18), (4, 8)];
/// 2 x 2 x 1 voxels away from both.
const SPECK: [(usize, usize); 3] = [(20, 22), (2, 4), (9, 10)];

fn write(path: &Path, v: &Volume<u8>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    write_nifti(path, v).unwrap();
}

fn options(root: &Path, out: &str) -> FolderOptions {
    FolderOptions {
        pred: root.join("nnunet"),
        gt: root.join("gt"),
        out: root.join(out),
        labels: Vec::new(),
        empty_penalty_mm: mtsa_metrics::DEFAULT_EMPTY_PENALTY_MM,
        force: false,
    }
}

fn score(opts: &FolderOptions) -> Result<FolderReport, mtsa_eval::EvalError> {
    score_folders(opts, &|_, _| {})
}

#[test]
fn two_folders_give_exact_case_lesion_and_summary_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // Case a: a small and a large lesion; the prediction finds the large one exactly and adds a
    // speck (a false lesion). Case b: one small lesion, found exactly, predicted as `mtsa
    // predict` writes a batch (`b/gtv.nii.gz`).
    write(&root.join("gt/a.nii.gz"), &mask(&[SMALL, LARGE]));
    write(&root.join("gt/b.nii.gz"), &mask(&[SMALL]));
    write(&root.join("nnunet/a.nii.gz"), &mask(&[LARGE, SPECK]));
    write(&root.join("nnunet/b/gtv.nii.gz"), &mask(&[SMALL]));
    std::fs::write(root.join("nnunet/summary.csv"), "not a mask").unwrap();

    let r = score(&options(root, "out")).unwrap();
    assert_eq!(r.cases, 2);
    let d = &r.detection;
    // Case a: 144 of its 162 true voxels found, 148 predicted: Dice 288 / 310; case b: 1.
    let dice_a = 288.0 / 310.0;
    let mean = d.dice.unwrap();
    assert!((mean.mean - (dice_a + 1.0) / 2.0).abs() < 1e-12, "{mean:?}");
    assert_eq!(mean.n, 2);
    assert_eq!(d.lesions, 3);
    assert_eq!(d.lesion_sensitivity, Some(2.0 / 3.0));
    assert_eq!(d.sensitivity_under_6mm, Some(0.5));
    assert_eq!(d.sensitivity_6mm_and_over, Some(1.0));
    assert_eq!(d.false_positive_lesions_per_patient, Some(0.5));
    let by_size: Vec<(usize, usize)> = d.by_size.iter().map(|b| (b.lesions, b.detected)).collect();
    assert_eq!(by_size, [(0, 0), (2, 1), (1, 1), (0, 0), (0, 0)]);
    // BraTS-METS lesion-wise Dice: a (1 + 0) / (2 lesions + 1 false), b 1.
    let lw = d.lesion_wise_dice.unwrap().mean;
    assert!((lw - (1.0 / 3.0 + 1.0) / 2.0).abs() < 1e-12, "{lw}");

    let out = root.join("out");
    let cases = std::fs::read_to_string(out.join("cases.csv")).unwrap();
    let rows: Vec<&str> = cases.lines().collect();
    assert_eq!(rows.len(), 3, "{cases}");
    assert!(rows[1].starts_with(&format!("a,{dice_a},")), "{cases}");
    assert!(
        rows[1].contains(",2,1,1,"),
        "a: 2 lesions, 1 found, 1 false: {cases}"
    );
    assert!(rows[2].starts_with("b,1.0,0.0,1,1,0,1.0,"), "{cases}");
    let lesions = std::fs::read_to_string(out.join("lesions.csv")).unwrap();
    // Three true lesions and three predicted ones, each row naming the system's folder.
    assert_eq!(lesions.lines().count(), 7, "{lesions}");
    assert!(lesions.lines().skip(1).all(|l| l.starts_with("nnunet,")));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["cases"], 2);
    assert_eq!(summary["false_positive_lesions_per_patient"], 0.5);
}

#[test]
fn unpaired_or_mismatched_cases_are_named_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(&root.join("gt/a.nii.gz"), &mask(&[SMALL]));
    write(&root.join("gt/b.nii.gz"), &mask(&[SMALL]));
    write(&root.join("nnunet/a.nii.gz"), &mask(&[SMALL]));
    let failed = |name: &str, want: &str| {
        let opts = options(root, name);
        let err = score(&opts).unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
        assert!(!opts.out.exists());
    };
    failed("missing", "no prediction for 1 reference case(s): b");

    write(&root.join("nnunet/b/gtv.nii.gz"), &mask(&[SMALL]));
    write(&root.join("nnunet/c.nii.gz"), &mask(&[SMALL]));
    failed("extra", "no reference for 1 predicted case(s): c");
    std::fs::remove_file(root.join("nnunet/c.nii.gz")).unwrap();

    write(&root.join("nnunet/b.nii.gz"), &mask(&[SMALL]));
    failed("twice", "case b is predicted twice");
    std::fs::remove_file(root.join("nnunet/b.nii.gz")).unwrap();

    let other_grid = Volume::new(Array3::<u8>::zeros((24, 24, 11)), AFFINE);
    write(&root.join("nnunet/b/gtv.nii.gz"), &other_grid);
    failed(
        "shape",
        "gtv.nii.gz: shape [24, 24, 11] differs from the reference",
    );
}
