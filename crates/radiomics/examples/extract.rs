//! Features of one image/mask pair, for timing against PyRadiomics
//! (`bench/radiomics_vs_pyradiomics.py`) and for a quick look at the values.
//!
//! `cargo run --release -p mtsa-radiomics --example extract -- IMAGE MASK LABELS BIN_WIDTH REPEAT`
//! LABELS: comma-separated mask labels that form the ROI (e.g. `1,3,4`). Prints one line
//! `seconds <t>` per repetition (extraction only, files already read), then the features.

use std::path::Path;
use std::time::Instant;

use mtsa_io::{read_nifti, read_nifti_labels};
use mtsa_radiomics::{extract, Binning, Settings};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [image, mask, labels, bin_width, repeat] = args.as_slice() else {
        return Err("usage: extract IMAGE MASK LABELS BIN_WIDTH REPEAT".into());
    };
    let labels: Vec<u16> = labels
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let image = read_nifti(Path::new(image))?;
    let mask = read_nifti_labels(Path::new(mask))?.map(|l| u16::from(labels.contains(l)));
    let settings = Settings {
        binning: Binning::Width(bin_width.parse()?),
        ..Settings::default()
    };
    let mut features = None;
    for _ in 0..repeat.parse::<usize>()? {
        let start = Instant::now();
        features = Some(extract(&image, &mask, &settings)?);
        println!("seconds {:.6}", start.elapsed().as_secs_f64());
    }
    for (name, value) in features.map(|f| f.0).unwrap_or_default() {
        println!("{name},{value}");
    }
    Ok(())
}
