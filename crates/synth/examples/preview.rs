//! Renders a few synthetic patients to PNG for a visual check: for each, the axial slice through
//! its largest lesion, grey-scaled to the brain's 0.5-99.5 percentiles, with the GTV outline in
//! red, side by side with the same slice unmarked.
//!
//! `cargo run -p mtsa-synth --release --example preview -- [OUT_DIR] [SEED] [SITE:INDEX ...]`
//! (default: the first three patients of each site; INDEX is 0-based).

use image::{Rgb, RgbImage};
use mtsa_synth::{generate_patient, standard_sites, SyntheticPatient, Template};
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let out = PathBuf::from(args.get(1).map_or("/tmp/synth-png", |s| s.as_str()));
    let seed: u64 = args.get(2).map_or(Ok(42), |s| s.parse())?;
    let sites = standard_sites();
    let picks: Vec<(usize, usize)> = if args.len() > 3 {
        args[3..]
            .iter()
            .map(|a| {
                let (name, index) = a.split_once(':').ok_or("expected SITE:INDEX")?;
                let site = sites
                    .iter()
                    .position(|s| s.name == name)
                    .ok_or("unknown site")?;
                Ok((site, index.parse()?))
            })
            .collect::<Result<_, Box<dyn std::error::Error>>>()?
    } else {
        (0..sites.len())
            .flat_map(|s| (0..3).map(move |i| (s, i)))
            .collect()
    };
    std::fs::create_dir_all(&out)?;
    let template = Template::embedded()?;
    for (s, index) in picks {
        let site = &sites[s];
        {
            let t = Instant::now();
            let p = generate_patient(template, site, index, seed);
            let secs = t.elapsed().as_secs_f64();
            let path = out.join(format!("{}.png", p.id));
            let k = slice_of_largest_lesion(&p);
            let img = overlay(&p, k);
            let (w, h) = img.dimensions();
            image::imageops::resize(&img, w * 2, h * 2, image::imageops::FilterType::Nearest)
                .save(&path)?;
            let ph = &p.truth.phenotype;
            let mut b: Vec<f32> = p.image.data.iter().copied().filter(|v| *v > 0.0).collect();
            b.sort_by(f32::total_cmp);
            let q = |f: f64| b[((b.len() - 1) as f64 * f) as usize] / site.intensity_scale as f32;
            println!(
                "  brain percentiles (x WM): 50% {:.2} 99% {:.2} 99.5% {:.2} 99.9% {:.2}",
                q(0.5),
                q(0.99),
                q(0.995),
                q(0.999)
            );
            println!(
                "{} {:?} {:.2}s shape {:?} slice {k}: n={} r={:.1} f_nec={:.2} e={:.1} h={:.2} P={:.2} {} -> {}",
                p.id,
                p.image.spacing(),
                secs,
                p.image.shape(),
                ph.lesions,
                ph.mean_radius_mm,
                ph.mean_necrosis_fraction,
                ph.mean_oedema_mm,
                ph.mean_heterogeneity,
                p.truth.p_mutant,
                p.truth.egfr.as_str(),
                path.display()
            );
        }
    }
    Ok(())
}

/// The axial slice holding the centre of the patient's largest lesion.
fn slice_of_largest_lesion(p: &SyntheticPatient) -> usize {
    let l = p
        .truth
        .lesions
        .iter()
        .max_by(|a, b| a.phenotype.radius_mm.total_cmp(&b.phenotype.radius_mm))
        .expect("a patient has lesions");
    let a = &p.image.affine;
    let k = (l.centre_mm[2] - a[2][3]) / a[2][2];
    (k.round().max(0.0) as usize).min(p.image.shape()[2] - 1)
}

fn overlay(p: &SyntheticPatient, k: usize) -> RgbImage {
    let [ni, nj, _] = p.image.shape();
    let mut brain: Vec<f32> = p.image.data.iter().copied().filter(|v| *v > 0.0).collect();
    brain.sort_by(f32::total_cmp);
    let lo = brain[brain.len() / 200];
    let hi = brain[brain.len() * 199 / 200];
    let mut img = RgbImage::new((2 * ni) as u32, nj as u32);
    for i in 0..ni {
        for j in 0..nj {
            // Radiological display: patient left on the image right, anterior up.
            let (x, y) = ((ni - 1 - i) as u32, (nj - 1 - j) as u32);
            let v = p.image.data[[i, j, k]];
            let g = (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0) as u8;
            img.put_pixel(x, y, Rgb([g, g, g]));
            let m = p.mask.data[[i, j, k]] == 1;
            let edge = m
                && [(1i64, 0i64), (-1, 0), (0, 1), (0, -1)]
                    .iter()
                    .any(|(di, dj)| {
                        let (a, b) = (i as i64 + di, j as i64 + dj);
                        a < 0
                            || b < 0
                            || a >= ni as i64
                            || b >= nj as i64
                            || p.mask.data[[a as usize, b as usize, k]] == 0
                    });
            let c = if edge {
                Rgb([255, 0, 0])
            } else {
                Rgb([g, g, g])
            };
            img.put_pixel(x + ni as u32, y, c);
        }
    }
    img
}
