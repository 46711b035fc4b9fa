//! End-to-end checks of the synthetic cohort: reproducibility, the EGFR statistics the spec
//! promises, and volumes a segmentation model can be trained on.

use chrono::NaiveDate;
use mtsa_io::read_nifti;
use mtsa_synth::{
    generate_cohort, generate_patient, plan_patient, truth_only, SiteProfile, SynthConfig,
    SynthError, SynthFormat, Template,
};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .expect("inside")
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&p).expect("readable file"));
            }
        }
    }
    out
}

/// NIfTI-1 `datatype` (header offset 70) of a gzipped file.
fn nifti_datatype(bytes: &[u8]) -> i16 {
    let mut header = [0u8; 72];
    flate2::read::GzDecoder::new(bytes)
        .read_exact(&mut header)
        .expect("gzip NIfTI header");
    i16::from_le_bytes([header[70], header[71]])
}

#[test]
fn same_seed_writes_byte_identical_cohorts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = SynthConfig {
        patients: 3,
        external_per_site: 1,
        seed: 7,
        format: SynthFormat::Nifti,
    };
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let calls = std::cell::Cell::new(0);
    let summary = generate_cohort(&a, &cfg, &|done, total| {
        assert!(done <= total && total == 5);
        calls.set(calls.get() + 1);
    })
    .expect("first cohort");
    assert_eq!(calls.get(), 6, "progress: once at 0 and once per patient");
    generate_cohort(&b, &cfg, &|_, _| {}).expect("second cohort");
    let (fa, fb) = (files(&a), files(&b));
    let names: Vec<&String> = fa.keys().collect();
    assert_eq!(names, fb.keys().collect::<Vec<_>>());
    for (name, bytes) in &fa {
        assert!(bytes == &fb[name], "{name} differs between runs");
    }

    // Layout and formats.
    let ids = [
        "int-0001",
        "int-0002",
        "int-0003",
        "site-b-0001",
        "site-c-0001",
    ];
    for id in ids {
        assert_eq!(
            nifti_datatype(&fa[&format!("images/{id}.nii.gz")]),
            16,
            "float32 image"
        );
        assert_eq!(
            nifti_datatype(&fa[&format!("labels/{id}.nii.gz")]),
            2,
            "uint8 label"
        );
    }
    // Images, labels, clinical.csv, truth.json, the template's licence and the output marker.
    assert!(fa.contains_key(".mtsa-output"));
    assert_eq!(fa.len(), 2 * ids.len() + 4, "{:?}", fa.keys());
    let csv = String::from_utf8(fa["clinical.csv"].clone()).expect("utf-8");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("patient_id,egfr,diagnosis_date,site,age,sex,smoking")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.iter().map(|r| r[0]).collect::<Vec<_>>(), ids);
    assert!(rows.iter().all(|r| r[1] == "mutant" || r[1] == "wild"));
    assert_eq!(rows[3][3], "site-b");

    // truth.json agrees with the CSV, with truth_only, and with the returned summary.
    let truth: serde_json::Value = serde_json::from_slice(&fa["truth.json"]).expect("json");
    assert_eq!(truth["seed"], 7);
    let patients = truth["patients"].as_array().expect("patients");
    for (p, r) in patients.iter().zip(&rows) {
        assert_eq!(p["id"], r[0]);
        assert_eq!(p["egfr"], r[1]);
        let pm = p["p_mutant"].as_f64().expect("p_mutant");
        assert!((0.0..=1.0).contains(&pm));
    }
    // (Compared field by field: serde_json's default parser may differ from the written text in
    // the last bit of a float.)
    let again = truth_only(&cfg).expect("truth");
    assert_eq!(again.len(), patients.len());
    for (t, p) in again.iter().zip(patients) {
        assert_eq!(p["id"], t.id.as_str());
        assert_eq!(p["egfr"], t.egfr.as_str());
        assert!((p["p_mutant"].as_f64().expect("p") - t.p_mutant).abs() < 1e-12);
        let lesions = p["lesions"].as_array().expect("lesions");
        assert_eq!(lesions.len(), t.lesions.len());
        for (a, b) in lesions.iter().zip(&t.lesions) {
            for d in 0..3 {
                let c = a["centre_mm"][d].as_f64().expect("centre");
                assert!((c - b.centre_mm[d]).abs() < 1e-9);
            }
        }
    }
    assert_eq!(summary.patients, 5);
    assert_eq!(summary.sites.len(), 3);
    assert!(
        (truth["bayes_accuracy"].as_f64().expect("bayes") - summary.bayes_accuracy).abs() < 1e-12
    );

    // A different seed gives a different cohort.
    let c = tmp.path().join("c");
    let other = SynthConfig { seed: 8, ..cfg };
    generate_cohort(&c, &other, &|_, _| {}).expect("third cohort");
    assert_ne!(files(&c)["truth.json"], fa["truth.json"]);
}

#[test]
fn refuses_a_non_empty_output_and_leaves_it_alone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("cohort");
    std::fs::create_dir_all(&out).expect("mkdir");
    std::fs::write(out.join("keep.txt"), b"mine").expect("write");
    let cfg = SynthConfig {
        patients: 1,
        external_per_site: 0,
        seed: 1,
        format: SynthFormat::Nifti,
    };
    let err = generate_cohort(&out, &cfg, &|_, _| {}).expect_err("must refuse");
    assert!(err.to_string().contains("cohort"), "{err}");
    assert_eq!(std::fs::read_dir(&out).expect("dir").count(), 1);
    assert_eq!(
        std::fs::read_dir(tmp.path()).expect("dir").count(),
        1,
        "no temp left"
    );

    let empty = SynthConfig {
        patients: 0,
        external_per_site: 0,
        seed: 1,
        format: SynthFormat::Nifti,
    };
    let err = generate_cohort(&tmp.path().join("x"), &empty, &|_, _| {}).expect_err("empty");
    assert!(matches!(err, SynthError::Config(_)));
}

#[test]
fn egfr_statistics_match_the_spec() {
    let cfg = SynthConfig {
        patients: 600,
        external_per_site: 100,
        seed: 2023,
        format: SynthFormat::Nifti,
    };
    let truths = truth_only(&cfg).expect("truth");
    assert_eq!(truths.len(), 800);
    let s = mtsa_synth::summarize(&truths, cfg.seed);
    eprintln!(
        "800 patients: prevalence {:.3} (mean P {:.3}), Bayes accuracy {:.4}",
        s.prevalence, s.mean_p_mutant, s.bayes_accuracy
    );
    assert!(
        (0.48..=0.60).contains(&s.prevalence),
        "prevalence {}",
        s.prevalence
    );
    assert!(
        (0.50..=0.58).contains(&s.mean_p_mutant),
        "mean P {}",
        s.mean_p_mutant
    );
    assert!(
        (0.84..=0.91).contains(&s.bayes_accuracy),
        "Bayes {}",
        s.bayes_accuracy
    );
    // The phenotype is what decides: mutant-leaning lesions are smaller and less necrotic.
    let mean = |f: &dyn Fn(&mtsa_synth::PatientTruth) -> f64, egfr: &str| {
        let v: Vec<f64> = truths
            .iter()
            .filter(|t| t.egfr.as_str() == egfr)
            .map(f)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let r = |t: &mtsa_synth::PatientTruth| t.phenotype.mean_radius_mm;
    let f = |t: &mtsa_synth::PatientTruth| t.phenotype.mean_necrosis_fraction;
    let n = |t: &mtsa_synth::PatientTruth| t.phenotype.lesions as f64;
    eprintln!(
        "mutant vs wild: radius {:.2} vs {:.2} mm, necrosis {:.3} vs {:.3}, count {:.2} vs {:.2}",
        mean(&r, "mutant"),
        mean(&r, "wild"),
        mean(&f, "mutant"),
        mean(&f, "wild"),
        mean(&n, "mutant"),
        mean(&n, "wild")
    );
    assert!(mean(&r, "mutant") < mean(&r, "wild") - 1.0);
    assert!(mean(&f, "mutant") < mean(&f, "wild") - 0.04);
    assert!(mean(&n, "mutant") > mean(&n, "wild") + 0.3);
    // Patients do not depend on the cohort size.
    let small = truth_only(&SynthConfig {
        patients: 5,
        external_per_site: 2,
        seed: 2023,
        format: SynthFormat::Nifti,
    })
    .expect("truth");
    assert_eq!(small[..5], truths[..5]);
    assert_eq!(small[5], truths[600]);
}

#[test]
fn internal_dates_span_the_paper_period_with_a_fifth_after_the_cutoff() {
    let template = Template::embedded().expect("template");
    let site = SiteProfile::internal();
    let (first, last) = (
        NaiveDate::from_ymd_opt(2018, 8, 1).expect("date"),
        NaiveDate::from_ymd_opt(2021, 10, 31).expect("date"),
    );
    let cutoff = NaiveDate::from_ymd_opt(2021, 5, 1).expect("date");
    let n = 500;
    let mut late = 0;
    for i in 0..n {
        let d = plan_patient(template, &site, i, 99).clinical.diagnosis_date;
        assert!(d >= first && d <= last, "{d}");
        late += usize::from(d >= cutoff);
    }
    let frac = late as f64 / n as f64;
    eprintln!("internal patients after 2021-05-01: {frac:.3}");
    assert!((0.14..=0.26).contains(&frac), "{frac}");
}

#[test]
fn volumes_are_consistent_and_lesions_sit_inside_the_brain() {
    let template = Template::embedded().expect("template");
    for (site, index) in [
        (SiteProfile::internal(), 0),
        (SiteProfile::internal(), 1),
        (SiteProfile::site_b(), 0),
        (SiteProfile::site_c(), 0),
    ] {
        let p = generate_patient(template, &site, index, 5);
        let id = &p.id;
        assert!(p.image.same_geometry(&p.mask, 0.0), "{id}: geometry");
        let sp = p.image.spacing();
        assert!((sp[0] - site.in_plane_mm).abs() < 1e-9 && (sp[2] - site.slice_mm).abs() < 1e-9);
        assert!(
            p.image.data.iter().all(|v| v.is_finite() && *v >= 0.0),
            "{id}: finite"
        );
        assert!(p.mask.data.iter().all(|v| *v <= 1), "{id}: 0/1 mask");
        let voxels = p.mask.data.iter().filter(|v| **v == 1).count();
        assert!(voxels > 0, "{id}: empty mask");
        for ((i, j, k), m) in p.mask.data.indexed_iter() {
            if *m == 1 {
                let world = p.image.world([i as f64, j as f64, k as f64]);
                let anatomy = template.sample(p.truth.transform.inverse(world));
                assert!(
                    anatomy.brain >= 0.5,
                    "{id}: GTV outside the brain at {world:?}"
                );
                assert!(p.image.data[[i, j, k]] > 0.0);
            }
        }
        // The plan's per-lesion counts (truth.json) are exactly the mask's.
        let planned: usize = p.truth.lesions.iter().map(|l| l.gtv_voxels).sum();
        assert_eq!(planned, voxels, "{id}: planned GTV voxels");
        // The GTV's volume is the lesions' (equivalent radii), less what the brain surface cuts,
        // plus up to a voxel per lesion for the centre voxel of lesions smaller than a voxel.
        let voxel_mm3: f64 = sp.iter().product();
        let vol = voxels as f64 * voxel_mm3;
        let slack = p.truth.lesions.len() as f64 * voxel_mm3;
        let want: f64 = p
            .truth
            .lesions
            .iter()
            .map(|l| 4.0 / 3.0 * std::f64::consts::PI * l.phenotype.radius_mm.powi(3))
            .sum();
        assert!(
            vol > 0.6 * want && vol < 1.15 * want + slack,
            "{id}: GTV {vol} mm3, lesions {want} mm3"
        );
        // The enhancing part is brighter than the surrounding brain.
        let scale = site.intensity_scale as f32;
        let in_gtv: Vec<f32> = p
            .mask
            .data
            .iter()
            .zip(&p.image.data)
            .filter(|(m, _)| **m == 1)
            .map(|(_, v)| *v / scale)
            .collect();
        let brightest = in_gtv.iter().fold(0.0f32, |a, b| a.max(*b));
        assert!(brightest > 1.3, "{id}: no enhancement ({brightest})");
    }
}

#[test]
fn written_volumes_read_back_with_their_geometry() {
    let template = Template::embedded().expect("template");
    let p = generate_patient(template, &SiteProfile::site_c(), 3, 11);
    let tmp = tempfile::tempdir().expect("tempdir");
    let (ip, lp) = (tmp.path().join("i.nii.gz"), tmp.path().join("l.nii.gz"));
    mtsa_io::write_nifti(&ip, &p.image).expect("write image");
    mtsa_io::write_nifti(&lp, &p.mask).expect("write mask");
    let (img, lab) = (
        read_nifti(&ip).expect("read"),
        read_nifti(&lp).expect("read"),
    );
    assert!(img.same_geometry(&lab, 1e-4));
    assert!(img.same_geometry(&p.image, 1e-3));
    assert_eq!(img.data, p.image.data);
}

/// Issue 11: diameters span about 2-30 mm with most under 10 mm, as clinical series report, and
/// every lesion, however small, has GTV voxels on every site, including the spec's thickest
/// (5 mm) slices. Planning only: no rendering.
#[test]
fn lesion_sizes_follow_the_clinical_mix_and_every_lesion_reaches_the_mask() {
    let template = Template::embedded().expect("template");
    let thick = SiteProfile {
        name: "thick".into(),
        id_prefix: "thick".into(),
        in_plane_mm: 1.0,
        slice_mm: 5.0,
        ..SiteProfile::site_c()
    };
    let mut sites = mtsa_synth::standard_sites();
    sites.push(thick);
    let mut diameters = Vec::new();
    for site in &sites {
        for i in 0..80 {
            let plan = plan_patient(template, site, i, 31);
            for l in &plan.truth.lesions {
                assert!(
                    l.gtv_voxels > 0,
                    "{} lesion of {:.1} mm has no GTV voxel",
                    plan.truth.id,
                    l.diameter_mm
                );
                assert!((l.diameter_mm - 2.0 * l.phenotype.radius_mm).abs() < 1e-12);
                diameters.push(l.diameter_mm);
            }
        }
    }
    let n = diameters.len() as f64;
    let share = |f: &dyn Fn(f64) -> bool| diameters.iter().filter(|d| f(**d)).count() as f64 / n;
    let max = diameters.iter().fold(0.0f64, |m, d| m.max(*d));
    eprintln!(
        "{n} lesions: {:.2} under 10 mm, {:.2} under 4 mm, max {max:.1} mm",
        share(&|d| d < 10.0),
        share(&|d| d < 4.0)
    );
    assert!(share(&|d| d < 10.0) > 0.5);
    assert!(share(&|d| d < 4.0) > 0.05);
    assert!(diameters.iter().all(|d| (2.0..=30.0).contains(d)));
}
