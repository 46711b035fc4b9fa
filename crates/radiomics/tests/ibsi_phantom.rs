//! The IBSI digital phantom (5 x 4 x 4 voxels of 2 mm, `fixtures/synthetic/ibsi_phantom_*`,
//! written by `fixtures/regenerate.py`) against the IBSI reference values
//! (`fixtures/ibsi_phantom_reference.json`, made by `fixtures/ibsi_phantom_reference.py` from the
//! IBSI manual). A value must match, to the digits the manual prints, wherever PyRadiomics'
//! own value (from `pyradiomics_reference.json`) does; where PyRadiomics deviates from the IBSI
//! the deviation is printed, and ours must then equal PyRadiomics' (checked by
//! `pyradiomics_agreement`).

mod common;

use mtsa_radiomics::{extract, Binning, Settings};
use serde_json::Value;

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(common::fixtures().join(name)).expect("fixture present");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// Within half a unit of the last digit the manual prints (and a relative 1e-9 for round-off).
fn matches(value: f64, reference: f64, decimals: i64) -> bool {
    let half_unit = 0.5 * 10f64.powi(-decimals as i32);
    (value - reference).abs() <= half_unit * (1.0 + 1e-9) + 1e-12
}

#[test]
fn ibsi_digital_phantom() {
    let (image, mask) = common::load_case("ibsi_phantom").expect("phantom ships with the repo");
    let settings = Settings {
        binning: Binning::Width(1.0),
        ..Settings::default()
    };
    let ours = extract(&image, &mask, &settings).expect("phantom features");
    let pyradiomics = load("pyradiomics_reference.json");
    let py_run = pyradiomics["runs"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["case"] == "ibsi_phantom"))
        .expect("phantom run in the PyRadiomics fixture");
    let reference = load("ibsi_phantom_reference.json");
    let (mut agree, mut deviations, mut failures) = (0, Vec::new(), Vec::new());
    for r in reference["values"].as_array().expect("values") {
        let name = r["pyradiomics"].as_str().expect("name");
        let value = r["value"].as_f64().expect("value");
        let decimals = r["decimals"].as_i64().expect("decimals");
        let got = ours.get(name).expect("we compute every mapped feature");
        let py = py_run["features"][name].as_f64().unwrap_or(f64::NAN);
        if matches(py, value, decimals) {
            if matches(got, value, decimals) {
                agree += 1;
            } else {
                failures.push(format!(
                    "{name}: ours {got}, IBSI {value}, PyRadiomics {py}"
                ));
            }
        } else {
            deviations.push(format!(
                "{name} ({}): IBSI {value}, PyRadiomics {py}, ours {got}",
                r["ibsi"].as_str().unwrap_or("?")
            ));
        }
    }
    println!("IBSI phantom: {agree} reference values matched where PyRadiomics matches them");
    for d in &deviations {
        println!("PyRadiomics deviates from IBSI: {d}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(agree > 60, "too few IBSI values compared ({agree})");
}
