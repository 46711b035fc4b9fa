//! Every feature of every reference case against PyRadiomics (values in
//! `fixtures/pyradiomics_reference.json`, made by `fixtures/regenerate.py`): relative difference
//! at most 1e-4, or an absolute difference at most 1e-9 for values near 0. Failures are listed
//! by case and feature name; the documented exceptions (`EXCEPTIONS`) are reported, not failed.

mod common;

use std::collections::BTreeMap;

use mtsa_radiomics::extract;
use serde_json::Value;

const REL_TOL: f64 = 1e-4;
const ABS_TOL: f64 = 1e-9;

/// (case/config prefix, feature, reason) pairs that are allowed to differ.
const EXCEPTIONS: &[(&str, &str, &str)] = &[];

fn exception(run: &str, feature: &str) -> Option<&'static str> {
    EXCEPTIONS
        .iter()
        .find(|(r, f, _)| run.starts_with(r) && *f == feature)
        .map(|(_, _, why)| *why)
}

#[test]
fn features_agree_with_pyradiomics() {
    let text = std::fs::read_to_string(common::fixtures().join("pyradiomics_reference.json"))
        .expect("fixture present in the repo");
    let reference: Value = serde_json::from_str(&text).expect("fixture is JSON");
    let runs = reference["runs"].as_array().expect("runs");
    let (mut compared, mut within, mut failures, mut excused) = (0, 0, Vec::new(), Vec::new());
    let mut worst_by_class: BTreeMap<String, f64> = BTreeMap::new();
    let mut cases = 0;
    for run in runs {
        let case = run["case"].as_str().expect("case");
        let name = format!("{case}/{}", run["config"].as_str().expect("config"));
        let (image, mask) = match common::load_case(case) {
            Ok(v) => v,
            Err(why) => {
                println!("skipping {name}: {why}");
                continue;
            }
        };
        cases += 1;
        let ours = extract(&image, &mask, &common::settings(&run["settings"]))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for (feature, expected) in run["features"].as_object().expect("features") {
            let expected = expected.as_f64().unwrap_or(f64::NAN);
            let got = ours.get(feature).unwrap_or(f64::NAN);
            let diff = (got - expected).abs();
            let rel = diff / expected.abs().max(f64::MIN_POSITIVE);
            let ok = diff <= ABS_TOL || rel <= REL_TOL || (got.is_nan() && expected.is_nan());
            compared += 1;
            let class = feature.split('_').nth(1).unwrap_or("?").to_string();
            if ok {
                within += 1;
                let w = worst_by_class.entry(class).or_insert(0.0);
                *w = w.max(if expected == 0.0 { diff } else { rel });
                continue;
            }
            let line = format!(
                "{name} {feature}: ours {got:.10e}, PyRadiomics {expected:.10e} (rel {rel:.2e})"
            );
            match exception(&name, feature) {
                Some(why) => excused.push(format!("{line} -- {why}")),
                None => failures.push(line),
            }
        }
    }
    println!("{compared} values over {cases} runs, {within} within tolerance");
    for (class, worst) in &worst_by_class {
        println!("  {class:<10} max rel diff {worst:.2e}");
    }
    for e in &excused {
        println!("exception: {e}");
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} values differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
