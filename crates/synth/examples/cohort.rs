//! Times a cohort written to a temporary folder and prints its summary.
//!
//! `cargo run -p mtsa-synth --release --example cohort -- [INTERNAL] [EXTERNAL_PER_SITE] [SEED] [OUT]`

use mtsa_synth::{generate_cohort, SynthConfig, SynthFormat};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: u64| -> Result<u64, std::num::ParseIntError> {
        args.get(i).map_or(Ok(d), |s| s.parse())
    };
    let cfg = SynthConfig {
        patients: arg(1, 80)? as usize,
        external_per_site: arg(2, 10)? as usize,
        seed: arg(3, 42)?,
        format: SynthFormat::Nifti,
    };
    let tmp = tempfile::tempdir()?;
    let out = args
        .get(4)
        .map_or_else(|| tmp.path().join("cohort"), PathBuf::from);
    let summary = generate_cohort(&out, &cfg, &|done, total| {
        if done % 10 == 0 || done == total {
            eprintln!("{done}/{total}");
        }
    })?;
    let bytes: u64 = walk(&out)?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    println!(
        "{} patients in {:.1} s, {:.1} MB on disk",
        summary.patients,
        summary.seconds,
        bytes as f64 / 1e6
    );
    Ok(())
}

fn walk(dir: &std::path::Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            walk(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
