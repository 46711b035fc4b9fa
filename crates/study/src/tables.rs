//! Tables 3-5: each system's metrics over seeds beside the paper's, and paired tests against
//! MTSA-Net on the same patients.
use mtsa_metrics::{
    delong_paired, mcnemar, paired_bootstrap, McNemar, PairedBootstrap, PairedDelong,
};
use serde::Serialize;
use std::collections::BTreeMap;

use crate::paper::published;
use crate::plan::{system, Table, REFERENCE};
use crate::results::{Metric, PatientScore, RunResult};
use crate::summary::SeedSummary;
use crate::StudyError;

/// Significance level of the verdicts (two-sided, per test, not adjusted for multiplicity).
pub const ALPHA: f64 = 0.05;

/// Every finished run: system id -> seed -> scores.
pub type Results = BTreeMap<String, BTreeMap<u64, RunResult>>;

/// Paired tests of one system against MTSA-Net on one split. Per patient, each system's value
/// is its mean over seeds (P(mutant) averaged, then called at 0.5), so the tests compare the
/// seed-averaged systems patient by patient.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// Patients both systems scored.
    pub patients: usize,
    /// Patient 3-D Dice over the GTV slices, paired patient bootstrap (system - MTSA-Net).
    pub dice: Option<PairedBootstrap>,
    pub hd95: Option<PairedBootstrap>,
    /// Patient EGFR calls, exact McNemar (A = this system, B = MTSA-Net).
    pub accuracy: Option<McNemar>,
    /// DeLong's paired AUC test (A = this system, B = MTSA-Net).
    pub auc: Option<PairedDelong>,
    pub verdict: String,
}

/// One row of one table on one split.
#[derive(Clone, Debug, Serialize)]
pub struct TableRow {
    pub table: u8,
    pub split: String,
    pub system: String,
    pub label: String,
    pub seeds: Vec<u64>,
    pub metrics: BTreeMap<Metric, SeedSummary>,
    /// The paper's number (internal test set only).
    pub paper: BTreeMap<Metric, f64>,
    /// `None` for MTSA-Net itself.
    pub versus_mtsa: Option<Comparison>,
}

/// The rows of every table on every split that some run scored, tables in order, the paper's
/// internal test set first.
pub fn build_rows(
    results: &Results,
    splits: &[String],
    resamples: usize,
    seed: u64,
) -> Result<Vec<TableRow>, StudyError> {
    let mut rows = Vec::new();
    for table in Table::ALL {
        for split in splits {
            for id in table.rows() {
                let Some(runs) = results.get(*id) else {
                    continue;
                };
                let mut metrics = BTreeMap::new();
                for m in Metric::ALL {
                    let values: Vec<f64> = runs
                        .values()
                        .filter_map(|r| r.get(split)?.metrics.get(&m).copied())
                        .collect();
                    if let Some(s) = SeedSummary::of(&values) {
                        metrics.insert(m, s);
                    }
                }
                if metrics.is_empty() {
                    continue;
                }
                let paper = if split == "test" {
                    Metric::ALL
                        .iter()
                        .filter_map(|&m| Some((m, published(table, id, m)?)))
                        .collect()
                } else {
                    BTreeMap::new()
                };
                let versus_mtsa = match results.get(REFERENCE) {
                    Some(reference) if *id != REFERENCE => {
                        Some(compare(runs, reference, split, resamples, seed)?)
                    }
                    _ => None,
                };
                rows.push(TableRow {
                    table: table.number(),
                    split: split.clone(),
                    system: id.to_string(),
                    label: system(id)?.label.to_string(),
                    seeds: runs.keys().copied().collect(),
                    metrics,
                    paper,
                    versus_mtsa,
                });
            }
        }
    }
    Ok(rows)
}

/// Per patient: mean Dice, mean HD95, mean P(mutant) over seeds, and the label.
#[derive(Default)]
struct PatientMean {
    dice: Vec<f64>,
    hd95: Vec<f64>,
    p: Vec<f64>,
    label: Option<bool>,
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn patient_means(runs: &BTreeMap<u64, RunResult>, split: &str) -> BTreeMap<String, PatientMean> {
    let mut out: BTreeMap<String, PatientMean> = BTreeMap::new();
    let rows = runs
        .values()
        .filter_map(|r| r.get(split))
        .flat_map(|s| &s.patients);
    for p in rows {
        let e = out.entry(p.patient_id.clone()).or_default();
        let PatientScore {
            dice,
            hd95_mm,
            p_mutant,
            ..
        } = p;
        e.dice.extend(dice.filter(|v| v.is_finite()));
        e.hd95.extend(hd95_mm.filter(|v| v.is_finite()));
        e.p.extend(p_mutant.filter(|v| v.is_finite()));
        e.label = e.label.or(p.is_mutant());
    }
    out
}

fn compare(
    system: &BTreeMap<u64, RunResult>,
    reference: &BTreeMap<u64, RunResult>,
    split: &str,
    resamples: usize,
    seed: u64,
) -> Result<Comparison, StudyError> {
    let a = patient_means(system, split);
    let b = patient_means(reference, split);
    let shared: Vec<(&PatientMean, &PatientMean)> = a
        .iter()
        .filter_map(|(id, pa)| Some((pa, b.get(id)?)))
        .collect();
    let pairs = |f: &dyn Fn(&PatientMean) -> Option<f64>| -> (Vec<f64>, Vec<f64>) {
        shared
            .iter()
            .filter_map(|(pa, pb)| Some((f(pa)?, f(pb)?)))
            .unzip()
    };
    let bootstrap = |xa: Vec<f64>, xb: Vec<f64>| -> Result<Option<PairedBootstrap>, StudyError> {
        if xa.is_empty() {
            return Ok(None);
        }
        Ok(Some(paired_bootstrap(&xa, &xb, resamples, seed)?))
    };
    let (da, db) = pairs(&|p| mean(&p.dice));
    let dice = bootstrap(da, db)?;
    let (ha, hb) = pairs(&|p| mean(&p.hd95));
    let hd95 = bootstrap(ha, hb)?;

    let labelled: Vec<(bool, f64, f64)> = shared
        .iter()
        .filter_map(|(pa, pb)| Some((pa.label?, mean(&pa.p)?, mean(&pb.p)?)))
        .collect();
    let (accuracy, auc) = if labelled.is_empty() {
        (None, None)
    } else {
        let labels: Vec<bool> = labelled.iter().map(|t| t.0).collect();
        let sa: Vec<f64> = labelled.iter().map(|t| t.1).collect();
        let sb: Vec<f64> = labelled.iter().map(|t| t.2).collect();
        let right = |s: &[f64]| -> Vec<bool> {
            s.iter()
                .zip(&labels)
                .map(|(p, l)| (*p > 0.5) == *l)
                .collect()
        };
        let accuracy = Some(mcnemar(&right(&sa), &right(&sb))?);
        // Undefined with fewer than two patients of a class: left out, not an error.
        let auc = delong_paired(&labels, &sa, &sb).ok();
        (accuracy, auc)
    };
    let verdict = verdict(
        dice.as_ref(),
        hd95.as_ref(),
        accuracy.as_ref(),
        auc.as_ref(),
    );
    Ok(Comparison {
        patients: shared.len(),
        dice,
        hd95,
        accuracy,
        auc,
        verdict,
    })
}

/// "MTSA-Net better/worse" on each metric whose test has p < [`ALPHA`], in plain words.
fn verdict(
    dice: Option<&PairedBootstrap>,
    hd95: Option<&PairedBootstrap>,
    accuracy: Option<&McNemar>,
    auc: Option<&PairedDelong>,
) -> String {
    // (metric, p, MTSA-Net better?)
    let mut found: Vec<(&str, f64, bool)> = Vec::new();
    if let Some(t) = dice {
        found.push(("Dice", t.p_value, t.difference < 0.0));
    }
    if let Some(t) = hd95 {
        found.push(("HD95", t.p_value, t.difference > 0.0));
    }
    if let Some(t) = accuracy {
        found.push((
            "EGFR accuracy",
            t.p_value,
            t.only_b_correct > t.only_a_correct,
        ));
    }
    if let Some(t) = auc {
        found.push(("EGFR AUC", t.p_value, t.difference < 0.0));
    }
    if found.is_empty() {
        return "no shared task to test".into();
    }
    let list = |better: bool| -> Vec<String> {
        found
            .iter()
            .filter(|(_, p, b)| *p < ALPHA && *b == better)
            .map(|(m, p, _)| format!("{m} (p {})", p_relation(*p)))
            .collect()
    };
    let (better, worse) = (list(true), list(false));
    match (better.is_empty(), worse.is_empty()) {
        (true, true) => "no significant difference".into(),
        (false, true) => format!("MTSA-Net better: {}", better.join(", ")),
        (true, false) => format!("MTSA-Net worse: {}", worse.join(", ")),
        (false, false) => format!(
            "MTSA-Net better: {}; worse: {}",
            better.join(", "),
            worse.join(", ")
        ),
    }
}

/// `= 0.012` or `< 0.001`, to follow a "p".
fn p_relation(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("= {p:.3}")
    }
}

/// A p-value as table cells print it.
pub fn p_text(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("{p:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::SplitResult;

    fn run(dice: &[f64], p: &[f64], labels: &[bool], slice_dice: f64) -> RunResult {
        let patients = dice
            .iter()
            .zip(p)
            .zip(labels)
            .enumerate()
            .map(|(i, ((d, p), l))| PatientScore {
                split: "test".into(),
                patient_id: format!("p{i:02}"),
                dice: Some(*d),
                hd95_mm: Some(10.0 * (1.0 - d)),
                egfr_label: Some(if *l {
                    mtsa_data::Egfr::Mutant
                } else {
                    mtsa_data::Egfr::Wild
                }),
                p_mutant: Some(*p),
            })
            .collect();
        let metrics = [(Metric::Dice, slice_dice)].into_iter().collect();
        [("test".to_string(), SplitResult { metrics, patients })]
            .into_iter()
            .collect()
    }

    #[test]
    fn a_clearly_worse_system_is_called_worse_and_seeds_are_summarised() {
        let n = 30;
        let labels: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
        let good_p: Vec<f64> = labels.iter().map(|l| if *l { 0.8 } else { 0.2 }).collect();
        let bad_p: Vec<f64> = (0..n)
            .map(|i| 0.3 + 0.4 * ((i * 7 % n) as f64 / n as f64))
            .collect();
        let good: Vec<f64> = (0..n).map(|i| 0.85 + 0.002 * i as f64).collect();
        let bad: Vec<f64> = good.iter().map(|d| d - 0.2).collect();
        let mut results = Results::new();
        results.insert(
            REFERENCE.into(),
            [
                (0, run(&good, &good_p, &labels, 0.8)),
                (1, run(&good, &good_p, &labels, 0.9)),
            ]
            .into_iter()
            .collect(),
        );
        results.insert(
            "unet".into(),
            [(0, run(&bad, &bad_p, &labels, 0.6))].into_iter().collect(),
        );
        let rows = build_rows(&results, &["test".into()], 500, 0).unwrap();
        let mtsa = rows
            .iter()
            .find(|r| r.table == 3 && r.system == REFERENCE)
            .unwrap();
        let s = mtsa.metrics[&Metric::Dice];
        assert!((s.mean - 0.85).abs() < 1e-12 && s.n == 2);
        assert_eq!(mtsa.paper[&Metric::Dice], 0.8914);
        assert!(mtsa.versus_mtsa.is_none());
        let unet = rows.iter().find(|r| r.system == "unet").unwrap();
        let c = unet.versus_mtsa.as_ref().unwrap();
        assert_eq!(c.patients, n);
        let d = c.dice.as_ref().unwrap();
        assert!((d.difference + 0.2).abs() < 1e-12);
        assert!(c.verdict.starts_with("MTSA-Net better"), "{}", c.verdict);
        assert!(c.verdict.contains("Dice") && c.verdict.contains("HD95"));
        // MTSA-Net is right on every patient; the other system on the wild ones only.
        let acc = c.accuracy.unwrap();
        assert_eq!(
            (acc.only_a_correct, acc.only_b_correct),
            (0, acc.n - acc.both_correct)
        );
    }

    #[test]
    fn identical_systems_show_no_difference() {
        let labels = [true, false, true, false, true, false];
        let p = [0.9, 0.1, 0.4, 0.6, 0.7, 0.3];
        let d = [0.8, 0.7, 0.9, 0.6, 0.75, 0.85];
        let mut results = Results::new();
        for id in [REFERENCE, "mtsa-net-equal"] {
            results.insert(
                id.into(),
                [(0, run(&d, &p, &labels, 0.8))].into_iter().collect(),
            );
        }
        let rows = build_rows(&results, &["test".into()], 200, 0).unwrap();
        let eq = rows.iter().find(|r| r.system == "mtsa-net-equal").unwrap();
        let c = eq.versus_mtsa.as_ref().unwrap();
        assert_eq!(c.verdict, "no significant difference");
        assert_eq!(c.dice.as_ref().unwrap().p_value, 1.0);
        assert_eq!(c.accuracy.unwrap().p_value, 1.0);
        assert_eq!(c.auc.unwrap().difference, 0.0);
    }
}
