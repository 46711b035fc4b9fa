//! Paired tests (bootstrap, DeLong, McNemar) and the normal CDF against independently
//! computed values. Every data set here is written literally in
//! `tests/reference/paired_stats.py`, which prints the expected numbers.

use mtsa_metrics::{
    delong, delong_paired, mcnemar, normal_cdf, paired_bootstrap, McNemar, MetricsError,
};

fn assert_close(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:e}, want {want:e} (tolerance {tol:e})"
    );
}

fn assert_rel(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= tol * want.abs(),
        "{what}: got {got:e}, want {want:e} (relative tolerance {tol:e})"
    );
}

// ---------------------------------------------------------------- normal CDF

#[test]
fn normal_cdf_matches_scipy() {
    // from tests/reference/paired_stats.py (scipy 1.17.1 norm.cdf); the points cover the
    // three intervals of Cody's erfc (|x|/√2 = 0.46875 at 0.6629126, 4 at 5.656854).
    let reference = [
        (-30.0, 4.906713927147908e-198),
        (-12.0, 1.776482112077653e-33),
        (-8.0, 6.22096057427174e-16),
        (-5.656854, 7.708640151118095e-09),
        (-5.0, 2.866515718791933e-07),
        (-2.5, 0.006209665325776132),
        (-1.959963984540054, 0.025),
        (-0.6629126, 0.2536932657488081),
        (-0.3, 0.3820885778110474),
        (0.0, 0.5),
        (0.3, 0.6179114221889526),
        (0.6629126, 0.7463067342511919),
        (1.0, 0.8413447460685429),
        (3.0, 0.9986501019683699),
        (5.0, 0.9999997133484281),
        (8.0, 0.9999999999999993),
    ];
    for (x, want) in reference {
        // Relative, so the far tail (1e-198) is checked as strictly as the centre. The
        // relative condition number of Φ at x is about x², so rounding x/√2 alone costs
        // up to 900·eps ≈ 2e-13 at x = -30 (we are 1.7e-13 off there); 1e-12 covers it.
        assert_rel(normal_cdf(x), want, 1e-12, &format!("normal_cdf({x})"));
    }
    assert_eq!(normal_cdf(-40.0), 0.0);
    assert_eq!(normal_cdf(40.0), 1.0);
    assert!(normal_cdf(f64::NAN).is_nan());
}

// ---------------------------------------------------------------- McNemar

/// Paired correctness vectors with the given 2×2 table
/// `[[both correct, only A correct], [only B correct, both wrong]]`.
fn from_table(table: [[usize; 2]; 2]) -> (Vec<bool>, Vec<bool>) {
    let cells = [
        (table[0][0], true, true),
        (table[0][1], true, false),
        (table[1][0], false, true),
        (table[1][1], false, false),
    ];
    let mut a = Vec::new();
    let mut b = Vec::new();
    for (count, x, y) in cells {
        a.extend(std::iter::repeat_n(x, count));
        b.extend(std::iter::repeat_n(y, count));
    }
    (a, b)
}

fn mcnemar_table(table: [[usize; 2]; 2]) -> McNemar {
    let (a, b) = from_table(table);
    mcnemar(&a, &b).expect("valid table")
}

#[test]
fn mcnemar_matches_statsmodels() {
    // from tests/reference/paired_stats.py (scipy 1.17.1, statsmodels 0.15.0:
    // mcnemar(table, exact=True) and mcnemar(table, exact=False, correction=True)).
    // (table, exact p, corrected chi-square, its p)
    let reference = [
        (
            [[15, 7], [2, 6]],
            0.1796875,
            1.7777777777777777,
            0.18242243945173198,
        ),
        (
            [[52, 25], [12, 11]],
            0.04703102743951604,
            3.891891891891892,
            0.04851973828025081,
        ),
        (
            [[10, 130], [95, 5]],
            0.023197506839685394,
            5.137777777777778,
            0.02341059616111667,
        ),
        // 2^-1900 underflows: the binomial tail must be summed in log space.
        (
            [[0, 1000], [900, 0]],
            0.023108845108901193,
            5.158421052631579,
            0.023133919510755163,
        ),
    ];
    for (table, p, chi, chi_p) in reference {
        let m = mcnemar_table(table);
        let what = format!("table {table:?}");
        assert_eq!(m.only_a_correct, table[0][1], "{what}");
        assert_eq!(m.only_b_correct, table[1][0], "{what}");
        assert_eq!(m.n, table.iter().flatten().sum::<usize>(), "{what}");
        assert_close(m.p_value, p, 1e-12, &format!("{what} exact p"));
        assert_close(m.chi_square, chi, 1e-12, &format!("{what} chi-square"));
        assert_close(m.chi_square_p_value, chi_p, 1e-12, &format!("{what} chi p"));
    }
}

#[test]
fn mcnemar_is_symmetric_in_the_systems() {
    let m = mcnemar_table([[15, 7], [2, 6]]);
    let swapped = mcnemar_table([[15, 2], [7, 6]]);
    assert_eq!(m.p_value, swapped.p_value);
    assert_eq!(m.chi_square, swapped.chi_square);
}

#[test]
fn mcnemar_without_disagreement_has_p_one() {
    // b = c: exact p = 1 (statsmodels too); no continuity correction, as R's
    // mcnemar.test (statsmodels would report 1/(b+c) = 0.1667, p 0.683 for 3/3).
    for table in [[[40, 3], [3, 4]], [[20, 0], [0, 5]]] {
        let m = mcnemar_table(table);
        assert_eq!(m.p_value, 1.0, "{table:?}");
        assert_eq!(m.chi_square, 0.0, "{table:?}");
        assert_eq!(m.chi_square_p_value, 1.0, "{table:?}");
    }
}

#[test]
fn mcnemar_rejects_bad_input() {
    assert_eq!(
        mcnemar(&[true, false], &[true]),
        Err(MetricsError::PairedLengthMismatch { a: 2, b: 1 })
    );
    assert_eq!(mcnemar(&[], &[]), Err(MetricsError::EmptyInput));
}

// ---------------------------------------------------------------- DeLong

const LABELS: [u8; 26] = [
    1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0,
];
const SA: [f64; 26] = [
    0.8, 0.2, 0.4, 0.7, 0.5, 0.5, 0.7, 0.5, 0.5, 0.3, 0.3, 0.9, 0.7, 0.2, 0.8, 0.8, 0.5, 0.6, 0.7,
    0.5, 0.2, 0.6, 0.8, 0.9, 0.2, 0.5,
];
const SB: [f64; 26] = [
    0.80, 0.36, 0.56, 0.75, 0.82, 0.18, 0.69, 0.52, 0.47, 0.18, 0.71, 0.55, 0.70, 0.62, 0.42, 0.68,
    0.25, 0.61, 0.84, 0.79, 0.16, 0.45, 0.77, 0.91, 0.40, 0.29,
];

fn labels() -> Vec<bool> {
    LABELS.iter().map(|&l| l == 1).collect()
}

#[test]
fn delong_paired_matches_fast_delong_reference() {
    // from tests/reference/paired_stats.py (scipy 1.17.1; numpy midrank fast DeLong,
    // AUCs cross-checked with scipy.stats.mannwhitneyu U/(m·n)).
    let d = delong_paired(&labels(), &SA, &SB).expect("valid input");
    assert_eq!((d.positives, d.negatives), (12, 14));
    assert_close(d.auc_a, 0.8333333333333334, 1e-12, "auc_a");
    assert_close(d.auc_b, 0.6696428571428571, 1e-12, "auc_b");
    assert_close(d.variance_a, 0.006146135610421326, 1e-12, "variance_a");
    assert_close(d.variance_b, 0.0121182141271427, 1e-12, "variance_b");
    assert_close(d.covariance, 0.003706610849467993, 1e-12, "covariance");
    assert_close(d.difference, 0.16369047619047628, 1e-12, "difference");
    assert_close(d.std_error, 0.1041687478979566, 1e-12, "std_error");
    assert_close(d.z, 1.571397175195261, 1e-10, "z");
    assert_close(d.p_value, 0.11609042172557822, 1e-12, "p");
    // The interval uses this crate's normal_quantile (Acklam, relative error < 1.2e-9
    // on 1.96), hence 1e-9 here.
    assert_close(d.interval.lower, -0.04047651800415114, 1e-9, "ci lower");
    assert_close(d.interval.upper, 0.3678574703851037, 1e-9, "ci upper");
}

#[test]
fn delong_paired_agrees_with_single_auc_delong() {
    let l = labels();
    let d = delong_paired(&l, &SA, &SB).expect("valid input");
    let a = delong(&l, &SA, 0.95).expect("valid input");
    let b = delong(&l, &SB, 0.95).expect("valid input");
    assert_close(d.auc_a, a.auc, 1e-15, "auc_a");
    assert_close(d.variance_b, b.variance, 1e-15, "variance_b");
    let combined = d.variance_a + d.variance_b - 2.0 * d.covariance;
    assert_close(d.std_error * d.std_error, combined, 1e-15, "var(diff)");
}

#[test]
fn delong_paired_highly_correlated_systems() {
    // from tests/reference/paired_stats.py (scipy 1.17.1): B = A with scores 2 and 3
    // swapped.
    let mut sc = SA;
    sc.swap(2, 3);
    let d = delong_paired(&labels(), &SA, &sc).expect("valid input");
    assert_close(d.auc_b, 0.9017857142857143, 1e-12, "auc_b");
    assert_close(d.difference, -0.06845238095238093, 1e-12, "difference");
    assert_close(d.std_error, 0.05210963966265444, 1e-12, "std_error");
    assert_close(d.z, -1.3136222279702097, 1e-10, "z");
    assert_close(d.p_value, 0.18897336468858617, 1e-12, "p");
}

#[test]
fn delong_paired_identical_systems() {
    let d = delong_paired(&labels(), &SA, &SA).expect("valid input");
    assert_eq!(d.difference, 0.0);
    assert_eq!(d.std_error, 0.0);
    assert_eq!(d.z, 0.0);
    assert_eq!(d.p_value, 1.0);
    assert_close(d.covariance, d.variance_a, 1e-15, "cov = var");
}

#[test]
fn delong_paired_rejects_bad_input() {
    let l = labels();
    assert!(matches!(
        delong_paired(&[true; 26], &SA, &SB),
        Err(MetricsError::NotEnoughClasses {
            positives: 26,
            negatives: 0,
            ..
        })
    ));
    assert!(matches!(
        delong_paired(&[false; 26], &SA, &SB),
        Err(MetricsError::NotEnoughClasses { positives: 0, .. })
    ));
    assert_eq!(
        delong_paired(&l, &SA, &SB[..25]),
        Err(MetricsError::PairedLengthMismatch { a: 26, b: 25 })
    );
    assert_eq!(
        delong_paired(&l[..25], &SA, &SB),
        Err(MetricsError::LengthMismatch {
            labels: 25,
            scores: 26
        })
    );
    let mut bad = SB;
    bad[4] = f64::NAN;
    assert!(matches!(
        delong_paired(&l, &SA, &bad),
        Err(MetricsError::NonFinitePairedValue {
            system: 'B',
            index: 4,
            ..
        })
    ));
}

// ---------------------------------------------------------------- paired bootstrap

/// Per-patient Dice of two systems, 40 patients (literal in paired_stats.py).
const BA: [f64; 40] = [
    0.664, 0.755, 0.807, 0.538, 0.742, 0.863, 0.614, 0.646, 0.563, 0.847, 0.809, 0.542, 0.719,
    0.855, 0.712, 0.832, 0.987, 0.813, 0.683, 0.587, 0.713, 0.729, 0.863, 0.826, 0.704, 0.830,
    0.648, 0.681, 0.657, 0.600, 0.706, 0.869, 0.761, 0.881, 0.782, 0.640, 0.697, 0.856, 0.879,
    0.734,
];
const BB: [f64; 40] = [
    0.642, 0.654, 0.835, 0.582, 0.760, 0.805, 0.616, 0.569, 0.646, 0.780, 0.747, 0.603, 0.701,
    0.784, 0.698, 0.772, 0.889, 0.789, 0.687, 0.616, 0.671, 0.729, 0.862, 0.821, 0.661, 0.873,
    0.715, 0.793, 0.588, 0.587, 0.621, 0.860, 0.788, 0.847, 0.776, 0.692, 0.731, 0.758, 0.852,
    0.703,
];

#[test]
fn paired_bootstrap_identical_systems() {
    let r = paired_bootstrap(&BA, &BA, 999, 1).expect("valid input");
    assert_eq!(r.difference, 0.0);
    assert_eq!((r.interval.lower, r.interval.upper), (0.0, 0.0));
    assert_eq!(r.p_value, 1.0);
    assert_eq!((r.n, r.resamples, r.seed), (40, 999, 1));
}

#[test]
fn paired_bootstrap_constant_shift() {
    // Every patient improved by exactly delta (values multiples of 1/64, so the
    // differences are exact): no resample can reach 0, p = 2/(B+1), its floor.
    let delta = 0.125;
    let b: Vec<f64> = (0..30).map(|i| f64::from(i % 17) / 64.0).collect();
    let a: Vec<f64> = b.iter().map(|x| x + delta).collect();
    let resamples = 1999;
    let r = paired_bootstrap(&a, &b, resamples, 7).expect("valid input");
    assert_eq!(r.difference, delta);
    assert_eq!((r.interval.lower, r.interval.upper), (delta, delta));
    assert_eq!(r.p_value, 2.0 / (resamples as f64 + 1.0));
    // Reversing the systems flips the sign, not the p-value.
    let rev = paired_bootstrap(&b, &a, resamples, 7).expect("valid input");
    assert_eq!(rev.difference, -delta);
    assert_eq!(rev.p_value, r.p_value);
}

#[test]
fn paired_bootstrap_agrees_with_paired_t_test() {
    // from tests/reference/paired_stats.py (scipy 1.17.1 ttest_rel): t = 1.6033,
    // p = 0.11694, 95% CI (-0.003473, 0.030023); the normal test with the bootstrap's
    // plug-in sd gives p = 0.10444, interval (-0.002749, 0.029299).
    // Tolerances: the percentile bootstrap of a mean approximates the normal test with
    // the ddof = 0 sd, which sits ~0.012 below the t-test's p (t(39) tails, ddof = 1);
    // Monte Carlo error at B = 20000 is ~0.002 on p and ~2e-4 on the bounds; mild skew
    // of 40 differences adds a little. So |p - p_t| < 0.03 and bounds within 2e-3 of the
    // t interval (whose half-width is 0.0167).
    let r = paired_bootstrap(&BA, &BB, 20_000, 2024).expect("valid input");
    assert_close(r.mean_a, 0.74085, 1e-12, "mean_a");
    assert_close(r.mean_b, 0.7275750000000001, 1e-12, "mean_b");
    assert_close(r.difference, 0.013274999999999999, 1e-12, "difference");
    assert_close(r.p_value, 0.11694447307754617, 0.03, "p vs t-test");
    assert_close(r.interval.lower, -0.003472792420465564, 2e-3, "lower");
    assert_close(r.interval.upper, 0.03002279242046556, 2e-3, "upper");
    // Deterministic for a seed.
    let again = paired_bootstrap(&BA, &BB, 20_000, 2024).expect("valid input");
    assert_eq!(again, r);
}

#[test]
fn paired_bootstrap_rejects_bad_input() {
    assert_eq!(
        paired_bootstrap(&BA, &BB[..39], 100, 0),
        Err(MetricsError::PairedLengthMismatch { a: 40, b: 39 })
    );
    assert_eq!(
        paired_bootstrap(&[], &[], 100, 0),
        Err(MetricsError::EmptyInput)
    );
    assert!(matches!(
        paired_bootstrap(&BA, &BB, 0, 0),
        Err(MetricsError::InvalidArgument(_))
    ));
    // HD95 of an empty mask left as NaN or inf: an error naming the system and patient,
    // never a silently dropped patient.
    let mut hd_a = BA;
    hd_a[7] = f64::INFINITY;
    assert_eq!(
        paired_bootstrap(&hd_a, &BB, 100, 0),
        Err(MetricsError::NonFinitePairedValue {
            system: 'A',
            index: 7,
            value: f64::INFINITY
        })
    );
    let mut hd_b = BB;
    hd_b[3] = f64::NAN;
    assert!(matches!(
        paired_bootstrap(&BA, &hd_b, 100, 0),
        Err(MetricsError::NonFinitePairedValue {
            system: 'B',
            index: 3,
            ..
        })
    ));
}

#[test]
fn results_serialize_to_json() {
    let d = delong_paired(&labels(), &SA, &SB).expect("valid input");
    let json = serde_json::to_value(d).expect("serializable");
    assert!(json["p_value"].is_number());
    let m = serde_json::to_value(mcnemar_table([[15, 7], [2, 6]])).expect("serializable");
    assert_eq!(m["only_a_correct"], 7);
    let b = serde_json::to_value(paired_bootstrap(&BA, &BB, 50, 0).expect("valid"))
        .expect("serializable");
    assert!(b["interval"]["lower"].is_number());
}
