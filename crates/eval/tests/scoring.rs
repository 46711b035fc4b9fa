//! The evaluation protocol on hand-built predictions whose every score is known in closed form:
//! per-slice Dice / HD95 (mm, anisotropic pixels), the patient's 3-D Dice and HD95 over its
//! slice block, the empty-mask policy, the top-50%-by-area EGFR call and the accuracy.

use mtsa_data::{Egfr, SliceRecord, SplitData};
use mtsa_eval::score_predictions;
use std::collections::BTreeMap;

const S: usize = 16;

struct Slice {
    patient: &'static str,
    egfr: u8,
    index: usize,
    spacing: [f64; 2],
    thickness: f64,
    /// (row, col, height, width) squares.
    gt: (usize, usize, usize, usize),
    pred: Option<(usize, usize, usize, usize)>,
    /// Probability given to background pixels (<= 0.5 keeps them out of the mask).
    background: f32,
    p_mutant: f64,
}

fn square((r0, c0, h, w): (usize, usize, usize, usize)) -> Vec<bool> {
    (0..S * S)
        .map(|i| (r0..r0 + h).contains(&(i / S)) && (c0..c0 + w).contains(&(i % S)))
        .collect()
}

fn build(slices: &[Slice]) -> (SplitData, Vec<f32>, Vec<f64>) {
    let mut split = SplitData::new(S, 0);
    let mut prob = Vec::new();
    for sl in slices {
        let gt = square(sl.gt);
        split
            .images
            .extend(gt.iter().map(|&g| if g { 1.0 } else { 0.3 }));
        split.masks.extend(gt.iter().map(|&g| u8::from(g)));
        let pred = sl.pred.map_or(vec![false; S * S], square);
        prob.extend(pred.iter().map(|&p| if p { 0.9 } else { sl.background }));
        split.slices.push(SliceRecord {
            patient_id: sl.patient.into(),
            site: "internal".into(),
            slice_index: sl.index,
            spacing_mm: sl.spacing,
            slice_thickness_mm: sl.thickness,
            gtv_area_px: gt.iter().filter(|g| **g).count(),
            egfr: Some(sl.egfr),
        });
    }
    let p_mutant = slices.iter().map(|s| s.p_mutant).collect();
    (split, prob, p_mutant)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn known_predictions_give_known_scores() {
    let a = |index, pred, background, p_mutant| Slice {
        patient: "pA",
        egfr: 1,
        index,
        spacing: [0.8, 0.8],
        thickness: 3.0,
        gt: (4, 4, 4, 4),
        pred,
        background,
        p_mutant,
    };
    let c = |index, sq, p_mutant| Slice {
        patient: "pC",
        egfr: 0,
        index,
        spacing: [1.0, 1.0],
        thickness: 1.0,
        gt: sq,
        pred: Some(sq),
        background: 0.0,
        p_mutant,
    };
    let slices = [
        // pA (mutant): exact, a 2x2 core of the 4x4 truth, nothing (every pixel exactly 0.5).
        a(10, Some((4, 4, 4, 4)), 0.1, 0.9),
        a(11, Some((5, 5, 2, 2)), 0.1, 0.2),
        a(12, None, 0.5, 0.1),
        // pB (wild): a 2x2 square moved 5 columns, pixels 1.0 mm tall and 0.5 mm wide.
        Slice {
            patient: "pB",
            egfr: 0,
            index: 7,
            spacing: [1.0, 0.5],
            thickness: 2.0,
            gt: (6, 2, 2, 2),
            pred: Some((6, 7, 2, 2)),
            background: 0.0,
            p_mutant: 0.7,
        },
        // pC (wild): two exact slices with an unevaluated slice between them, equal areas.
        c(0, (2, 2, 3, 3), 0.3),
        c(2, (8, 8, 3, 3), 0.4),
    ];
    let (split, prob, p_mutant) = build(&slices);
    let truth = BTreeMap::from([
        ("pA".to_string(), 0.8),
        ("pB".to_string(), 0.4),
        ("pC".to_string(), 0.1),
    ]);
    let scores = score_predictions("test", &split, &prob, &p_mutant, Some(&truth), 3).unwrap();

    // Per slice.
    let sq2 = 0.8 * 2f64.sqrt();
    let dice = [1.0, 0.4, 0.0, 0.0, 1.0, 1.0];
    // 2x2 core: every core pixel is 1 px from the truth's ring, the ring's corners sqrt(2) px
    // from the core; the moved square: 4 or 5 columns of 0.5 mm; empty prediction: 374 mm.
    let hd95 = [0.0, sq2, 374.0, 2.5, 0.0, 0.0];
    let areas = [16, 4, 0, 4, 9, 9];
    let precision: [Option<f64>; 6] = [Some(1.0), Some(1.0), None, Some(0.0), Some(1.0), Some(1.0)];
    let recall = [1.0, 0.25, 0.0, 0.0, 1.0, 1.0];
    assert_eq!(scores.slices.len(), 6);
    for (k, row) in scores.slices.iter().enumerate() {
        assert!(
            close(row.dice.unwrap(), dice[k]),
            "slice {k}: Dice {:?}",
            row.dice
        );
        assert!(
            close(row.hd95_mm.unwrap(), hd95[k]),
            "slice {k}: HD95 {:?}",
            row.hd95_mm
        );
        assert_eq!(row.pred_area_px, areas[k], "slice {k}");
        assert_eq!(row.gt_area_px, split.slices[k].gtv_area_px, "slice {k}");
        match (row.precision, precision[k]) {
            (Some(got), Some(want)) => assert!(close(got, want), "slice {k}: precision {got}"),
            (got, want) => assert_eq!(got, want, "slice {k}"),
        }
        assert!(close(row.recall.unwrap(), recall[k]), "slice {k}");
        assert_eq!(row.p_mutant, Some(p_mutant[k]));
        assert_eq!(row.slice_index, slices[k].index);
    }

    // Per patient (sorted by id).
    let ids: Vec<&str> = scores
        .patients
        .iter()
        .map(|p| p.patient_id.as_str())
        .collect();
    assert_eq!(ids, ["pA", "pB", "pC"]);
    let (pa, pb, pc) = (
        &scores.patients[0],
        &scores.patients[1],
        &scores.patients[2],
    );
    assert_eq!((pa.slices, pb.slices, pc.slices), (3, 1, 2));
    // 3-D Dice over the patient's slices: 2 (16 + 4) / (48 + 20).
    assert!(
        close(pa.dice.unwrap(), 10.0 / 17.0),
        "pA Dice {:?}",
        pa.dice
    );
    assert!(
        pa.hd95_mm.is_some_and(|h| h > 0.0 && h < 374.0),
        "pA HD95 {:?}",
        pa.hd95_mm
    );
    // One slice: every voxel is boundary in 3-D, so the 2-D answer holds.
    assert!(
        close(pb.dice.unwrap(), 0.0) && close(pb.hd95_mm.unwrap(), 2.5),
        "pB {pb:?}"
    );
    assert!(
        close(pc.dice.unwrap(), 1.0) && close(pc.hd95_mm.unwrap(), 0.0),
        "pC {pc:?}"
    );

    // EGFR: pA's top half by area (slices 10 and 11, rounded up) votes 0.55, mutant, right (all
    // three slices would have voted 0.4); pB 0.7, mutant, wrong; pC's tie keeps slice order: 0.3.
    let probs: Vec<f64> = scores
        .patients
        .iter()
        .map(|p| p.p_mutant.unwrap())
        .collect();
    assert!(
        close(probs[0], 0.55) && close(probs[1], 0.7) && close(probs[2], 0.3),
        "{probs:?}"
    );
    let calls: Vec<Egfr> = scores
        .patients
        .iter()
        .map(|p| p.egfr_call.unwrap())
        .collect();
    assert_eq!(calls, [Egfr::Mutant, Egfr::Mutant, Egfr::Wild]);
    let correct: Vec<bool> = scores.patients.iter().map(|p| p.correct.unwrap()).collect();
    assert_eq!(correct, [true, false, true]);
    assert_eq!(pa.egfr_label, Some(Egfr::Mutant));
    assert_eq!(pb.truth_p_mutant, Some(0.4));

    // Split summary.
    let r = &scores.report;
    assert_eq!((r.patients, r.slices), (3, 6));
    let sd = r.slice_dice.unwrap();
    assert!(close(sd.mean, 3.4 / 6.0) && sd.n == 6, "{sd:?}");
    let sh = r.slice_hd95_mm.unwrap();
    assert!(close(sh.mean, (sq2 + 374.0 + 2.5) / 6.0), "{sh:?}");
    assert!(close(
        r.patient_dice.unwrap().mean,
        (10.0 / 17.0 + 1.0) / 3.0
    ));
    assert_eq!(
        r.slice_precision.unwrap().n,
        5,
        "an empty prediction has no precision"
    );
    let egfr = r.egfr.as_ref().unwrap();
    assert_eq!((egfr.n, egfr.positives, egfr.negatives), (3, 1, 2));
    assert_eq!((egfr.accuracy.successes, egfr.accuracy.n), (2, 3));
    assert!(close(egfr.accuracy.value.unwrap(), 2.0 / 3.0));
    assert!(close(egfr.auc.unwrap(), 0.5));
    assert!(close(r.bayes_accuracy.unwrap(), (0.8 + 0.6 + 0.9) / 3.0));
}

#[test]
fn mismatched_prediction_buffers_are_refused() {
    let (split, prob, p_mutant) = build(&[Slice {
        patient: "p",
        egfr: 1,
        index: 0,
        spacing: [1.0, 1.0],
        thickness: 1.0,
        gt: (1, 1, 2, 2),
        pred: None,
        background: 0.0,
        p_mutant: 0.5,
    }]);
    assert!(score_predictions("x", &split, &prob[1..], &p_mutant, None, 0).is_err());
    assert!(score_predictions("x", &split, &prob, &[], None, 0).is_err());
    let s = score_predictions("x", &split, &prob, &p_mutant, None, 0).unwrap();
    assert_eq!(s.report.bayes_accuracy, None);
    assert_eq!(
        s.patients[0].egfr_call,
        Some(Egfr::Wild),
        "0.5 is not > 0.5"
    );
}
