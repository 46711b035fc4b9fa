//! Classification statistics against hand-computed values. DeLong, Wald and Wilson
//! references were checked with an independent numpy/scipy computation.

use mtsa_metrics::{
    auc, binary_classification, binary_classification_with, bootstrap_ci, delong, delong_ci,
    normal_quantile, roc_curve, wald_ci, wilson_ci, BootstrapOptions, ClassificationOptions,
    ConfusionMatrix, MetricsError,
};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() < tol
}

/// Positives 0.9 0.8 0.7 0.6 0.4; negatives 0.7 0.5 0.4 0.3 0.2 0.6 (two ties).
fn tied_example() -> (Vec<bool>, Vec<f64>) {
    let pos = [0.9, 0.8, 0.7, 0.6, 0.4];
    let neg = [0.7, 0.5, 0.4, 0.3, 0.2, 0.6];
    let labels = pos
        .iter()
        .map(|_| true)
        .chain(neg.iter().map(|_| false))
        .collect();
    let scores = pos.iter().chain(&neg).copied().collect();
    (labels, scores)
}

#[test]
fn auc_counts_ties_as_half() {
    let (l, s) = tied_example();
    // Wins per positive: 6, 6, 5 + ½, 4 + ½, 2 + ½ = 24.5 of 30 pairs.
    assert!(close(auc(&l, &s).unwrap(), 24.5 / 30.0, 1e-15));
    // Perfect separation and total ties.
    assert_eq!(auc(&[true, false], &[0.9, 0.1]).unwrap(), 1.0);
    assert_eq!(auc(&[true, false], &[0.1, 0.9]).unwrap(), 0.0);
    assert_eq!(auc(&[true, false, true, false], &[0.5; 4]).unwrap(), 0.5);
}

#[test]
fn auc_equals_trapezoidal_area_under_roc() {
    let (l, s) = tied_example();
    let roc = roc_curve(&l, &s).unwrap();
    assert_eq!((roc[0].fpr, roc[0].tpr), (0.0, 0.0));
    assert!(roc[0].threshold.is_infinite());
    let last = roc.last().unwrap();
    assert_eq!((last.fpr, last.tpr, last.threshold), (1.0, 1.0, 0.2));
    // One point per distinct score: 0.9 0.8 0.7 0.6 0.5 0.4 0.3 0.2.
    assert_eq!(roc.len(), 9);
    let area: f64 = roc
        .windows(2)
        .map(|w| (w[1].fpr - w[0].fpr) * (w[1].tpr + w[0].tpr) / 2.0)
        .sum();
    assert!(close(area, auc(&l, &s).unwrap(), 1e-12));
    // At threshold 0.7 (score >= 0.7): TP 3 of 5, FP 1 of 6.
    let p = roc.iter().find(|p| p.threshold == 0.7).unwrap();
    assert!(close(p.tpr, 0.6, 1e-15) && close(p.fpr, 1.0 / 6.0, 1e-15));
}

#[test]
fn delong_matches_hand_computation() {
    let (l, s) = tied_example();
    // V10 = [1, 1, 11/12, 3/4, 5/12], V01 = [1/2, 4/5, 9/10, 1, 1, 7/10];
    // S10 = 0.241667/4, S01 = 0.188333/5, var = S10/5 + S01/6 = 0.0183611.
    let d = delong(&l, &s, 0.95).unwrap();
    assert!(close(d.auc, 0.8166666666666667, 1e-15));
    assert!(close(d.variance, 0.01836111111111111, 1e-15));
    assert!(close(d.interval.lower, 0.5510853189866711, 1e-8));
    assert_eq!(d.interval.upper, 1.0); // 1.082 clipped
    let ci90 = delong_ci(&l, &s, 0.90).unwrap();
    assert!(close(ci90.lower, 0.593783773701358, 1e-8));
}

#[test]
fn delong_needs_two_of_each_class() {
    let err = delong(&[true, false, false], &[0.9, 0.1, 0.2], 0.95).unwrap_err();
    assert_eq!(
        err,
        MetricsError::NotEnoughClasses {
            needed: 2,
            positives: 1,
            negatives: 2
        }
    );
    assert!(matches!(
        auc(&[true, true], &[0.1, 0.2]),
        Err(MetricsError::NotEnoughClasses { .. })
    ));
    assert!(matches!(
        auc(&[true], &[0.1, 0.2]),
        Err(MetricsError::LengthMismatch { .. })
    ));
    assert!(matches!(
        auc(&[true, false], &[f64::NAN, 0.2]),
        Err(MetricsError::NonFiniteScore { index: 0, .. })
    ));
}

#[test]
fn normal_quantiles() {
    assert!(close(normal_quantile(0.975), 1.959963984540054, 1e-8));
    assert!(close(normal_quantile(0.995), 2.5758293035489004, 1e-8));
    assert!(close(normal_quantile(0.9), 1.2815515655446004, 1e-8));
    assert!(close(normal_quantile(0.01), -2.3263478740408408, 1e-8));
    assert!(close(normal_quantile(1e-6), -4.753424308822899, 1e-7));
    assert_eq!(normal_quantile(0.5), 0.0);
}

#[test]
fn wald_and_wilson_for_29_of_33() {
    let z = normal_quantile(0.975);
    let w = wald_ci(29, 33, z).unwrap();
    assert!(close(w.lower, 0.7674337881066775, 1e-8) && close(w.upper, 0.9901419694690801, 1e-8));
    let w = wilson_ci(29, 33, z).unwrap();
    assert!(close(w.lower, 0.7267449482892476, 1e-8) && close(w.upper, 0.9518383869058644, 1e-8));
    // Boundaries: Wald collapses, Wilson does not.
    let w = wald_ci(0, 10, z).unwrap();
    assert_eq!((w.lower, w.upper), (0.0, 0.0));
    let w = wilson_ci(0, 10, z).unwrap();
    assert!(w.lower == 0.0 && close(w.upper, 0.2775327998628892, 1e-8));
    let w = wilson_ci(5, 20, z).unwrap();
    assert!(close(w.lower, 0.11186170140766569, 1e-8) && close(w.upper, 0.468700877618744, 1e-8));
    assert_eq!(wald_ci(0, 0, z), Err(MetricsError::EmptyInput));
    assert!(wilson_ci(4, 3, z).is_err());
}

#[test]
fn bootstrap_is_seeded_and_brackets_the_estimate() {
    let data: Vec<f64> = (0..50).map(|i| (i % 7) as f64).collect();
    let mean = |s: &[f64]| Some(s.iter().sum::<f64>() / s.len() as f64);
    let opts = BootstrapOptions::default();
    let a = bootstrap_ci(&data, mean, &opts).unwrap();
    let b = bootstrap_ci(&data, mean, &opts).unwrap();
    assert_eq!(a, b);
    assert_eq!((a.replicates, a.valid_replicates), (2000, 2000));
    let iv = a.interval.unwrap();
    let est = a.estimate.unwrap();
    assert!(iv.lower < est && est < iv.upper);
    // Roughly mean ± 1.96·sd/√n: sd ≈ 2.0, half-width ≈ 0.55.
    assert!(
        iv.upper - iv.lower > 0.7 && iv.upper - iv.lower < 1.5,
        "{iv:?}"
    );
    let c = bootstrap_ci(&data, mean, &BootstrapOptions { seed: 7, ..opts }).unwrap();
    assert_ne!(a.interval, c.interval);
    // Undefined replicates are skipped, not counted.
    let picky = |s: &[f64]| s.contains(&6.0).then_some(1.0);
    let p = bootstrap_ci(&data, picky, &opts).unwrap();
    assert!(p.valid_replicates < 2000 && p.valid_replicates > 1900);
    assert!(bootstrap_ci::<f64, _>(&[], mean, &opts).is_err());
}

#[test]
fn report_at_threshold() {
    let (l, s) = tied_example();
    let r = binary_classification(&l, &s, 0.5).unwrap();
    // score > 0.5: positives 0.9 0.8 0.7 0.6 → TP 4, FN 1; negatives 0.7 0.6 → FP 2, TN 4.
    assert_eq!(
        r.confusion,
        ConfusionMatrix {
            tp: 4,
            fp: 2,
            tn: 4,
            fn_: 1
        }
    );
    assert!(close(r.accuracy.value.unwrap(), 8.0 / 11.0, 1e-15));
    assert!(close(r.precision.value.unwrap(), 4.0 / 6.0, 1e-15));
    assert!(close(r.recall.value.unwrap(), 0.8, 1e-15));
    assert!(close(r.specificity.value.unwrap(), 4.0 / 6.0, 1e-15));
    assert!(close(r.f1.unwrap(), 8.0 / 11.0, 1e-15));
    assert!(close(r.auc.unwrap(), 24.5 / 30.0, 1e-15));
    assert!(close(r.auc_delong.unwrap().lower, 0.5510853189866711, 1e-8));
    let wilson = wilson_ci(8, 11, normal_quantile(0.975)).unwrap();
    assert_eq!(r.accuracy.wilson, Some(wilson));
    assert!(
        r.accuracy.bootstrap.is_some() && r.auc_bootstrap.is_some() && r.f1_bootstrap.is_some()
    );
    let brier: f64 = [
        0.01, 0.04, 0.09, 0.16, 0.36, 0.49, 0.25, 0.16, 0.09, 0.04, 0.36,
    ]
    .iter()
    .sum::<f64>()
        / 11.0;
    assert!(close(r.brier.unwrap(), brier, 1e-12));
    let rel = r.reliability.as_ref().unwrap();
    assert_eq!(rel.bins.len(), 10);
    assert_eq!(rel.bins.iter().map(|b| b.count).sum::<usize>(), 11);
    // Bin [0.7, 0.8): scores 0.7 (pos) and 0.7 (neg).
    assert_eq!(rel.bins[7].count, 2);
    assert_eq!(rel.bins[7].observed_fraction, Some(0.5));

    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["confusion"]["fn"], 1);
    assert!(v["roc"][0]["threshold"].is_null()); // +inf
}

#[test]
fn report_with_one_class_marks_undefined_values() {
    let r = binary_classification_with(
        &[true, true, true],
        &[0.9, 0.2, 0.7],
        &ClassificationOptions {
            bootstrap: None,
            ..ClassificationOptions::default()
        },
    )
    .unwrap();
    assert_eq!(r.specificity.value, None);
    assert_eq!(r.specificity.wilson, None);
    assert_eq!(r.auc, None);
    assert_eq!(r.auc_delong, None);
    assert!(r.roc.is_empty());
    assert_eq!(r.recall.value, Some(2.0 / 3.0));
    assert!(r.accuracy.bootstrap.is_none());
    // Scores outside [0, 1] are fine for AUC but not for calibration.
    let r =
        binary_classification(&[true, false, true, false], &[3.0, -1.0, 2.0, 0.5], 0.0).unwrap();
    assert_eq!(r.auc, Some(1.0));
    assert_eq!(r.brier, None);
    assert!(r.reliability.is_none());
}
