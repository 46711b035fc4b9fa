//! The radiomics model on a problem with a known answer: 2 informative features among 20.

use mtsa_radiomics::model::{CvConfig, ModelError, RadiomicsModel};

/// Deterministic standard normals (splitmix64 + Box-Muller).
fn normals(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    let mut uniform = || {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            let (u, v) = (uniform().max(1e-300), uniform());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        })
        .collect()
}

/// Rows of 20 features (different scales and offsets); label from features 3 and 11 only.
fn problem(n: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<bool>) {
    let z = normals(n * 21, seed);
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..n {
        let row: Vec<f64> = (0..20)
            .map(|j| 100.0 * j as f64 + (1.0 + j as f64) * z[i * 21 + j])
            .collect();
        let eta = 2.5 * z[i * 21 + 3] - 2.5 * z[i * 21 + 11];
        let u = 0.5 + 0.5 * (z[i * 21 + 20] / 2.0).tanh(); // a uniform-ish draw in (0, 1)
        y.push(u < 1.0 / (1.0 + (-eta).exp()));
        x.push(row);
    }
    (x, y)
}

fn auc(p: &[f64], y: &[bool]) -> f64 {
    let (mut pairs, mut wins) = (0.0, 0.0);
    for (pi, yi) in p.iter().zip(y) {
        for (pj, yj) in p.iter().zip(y) {
            if *yi && !*yj {
                pairs += 1.0;
                wins += if pi > pj {
                    1.0
                } else if pi == pj {
                    0.5
                } else {
                    0.0
                };
            }
        }
    }
    wins / pairs
}

#[test]
fn selects_the_two_informative_features() {
    let (x, y) = problem(300, 7);
    let model = RadiomicsModel::fit(&x, &y, &CvConfig::default()).expect("fits");
    assert!(
        model.selected.contains(&3) && model.selected.contains(&11),
        "selected {:?}",
        model.selected
    );
    assert!(model.selected.len() <= 4, "selected {:?}", model.selected);
    let k3 = model.selected.iter().position(|j| *j == 3).expect("3 kept");
    let k11 = model
        .selected
        .iter()
        .position(|j| *j == 11)
        .expect("11 kept");
    assert!(model.coefficients[k3] > 1.0 && model.coefficients[k11] < -1.0);
    let (xt, yt) = problem(300, 99);
    let p = model.predict_proba(&xt);
    assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
    let a = auc(&p, &yt);
    assert!(a > 0.85, "held-out AUC {a}");
}

#[test]
fn bad_training_data_is_an_error() {
    let cfg = CvConfig::default();
    assert_eq!(RadiomicsModel::fit(&[], &[], &cfg), Err(ModelError::Empty));
    let x = vec![vec![1.0, 2.0]; 12];
    assert_eq!(
        RadiomicsModel::fit(&x, &[true; 12], &cfg),
        Err(ModelError::OneClass)
    );
    let mut y = vec![false; 12];
    y[0] = true;
    assert_eq!(
        RadiomicsModel::fit(&x, &y, &cfg),
        Err(ModelError::TooFewForFolds { folds: 5 })
    );
    // One fold (or none) holds nothing out: refused, not silently run as two.
    for folds in [0, 1] {
        let one = CvConfig {
            folds,
            ..cfg.clone()
        };
        assert!(matches!(one.validate(), Err(ModelError::InvalidCv(_))));
        let balanced: Vec<bool> = (0..12).map(|i| i % 2 == 0).collect();
        assert!(matches!(
            RadiomicsModel::fit(&x, &balanced, &one),
            Err(ModelError::InvalidCv(_))
        ));
    }
    let mut bad = x.clone();
    bad[2][1] = f64::NAN;
    assert_eq!(
        RadiomicsModel::fit(&bad, &y, &cfg),
        Err(ModelError::NonFinite { row: 2, col: 1 })
    );
}
