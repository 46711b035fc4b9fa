//! Re-measures the EGFR formula by simulation: prevalence, Bayes accuracy and the count-blind
//! ceiling (the figures `FORMULA_MEASURED`, `truth.json` and `docs/synthetic-cohort.md` quote).
//!
//! `cargo run -p mtsa-synth --release --example egfr_formula -- [PATIENTS] [SEED]`

use mtsa_synth::{calibrate_formula, FORMULA};

fn main() -> Result<(), std::num::ParseIntError> {
    let args: Vec<String> = std::env::args().collect();
    let patients = args.get(1).map_or(Ok(200_000), |s| s.parse())?;
    let seed = args.get(2).map_or(Ok(1), |s| s.parse())?;
    let m = calibrate_formula(patients, seed);
    println!("{FORMULA}");
    println!(
        "{} patients (seed {seed}): prevalence {:.4}, Bayes accuracy {:.4}, count-blind ceiling {:.4}",
        m.patients, m.prevalence, m.bayes_accuracy, m.count_blind_ceiling
    );
    Ok(())
}
