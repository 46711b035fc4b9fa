//! `predict` on a volume unlike the training data (LPS, anisotropic, another grid) must write its
//! mask on exactly the input's grid and an `egfr.json` that says what was (not) found.

mod support;

use support::fixture_run;

use mtsa_eval::{predict, BatchOptions, Outputs, PredictOptions, SeriesPick};
use mtsa_infer::{LoadOptions, RunPaths};
use mtsa_io::{read_nifti_labels, write_nifti, Affine, Volume};
use mtsa_model::{read_tensors, write_tensors, Layout, LayoutChoice, Precision};
use ndarray::Array3;
use std::path::{Path, PathBuf};
use tch::Device;

/// 100 x 90 x 20 voxels of 0.9 x 0.9 x 3 mm stored LPS (i runs right-to-left, j front-to-back),
/// with a small origin offset: a brain ellipsoid and a bright disc.
fn lps_volume() -> Volume<f32> {
    let shape = [100, 90, 20];
    let affine: Affine = [
        [-0.9, 0.0, 0.0, 44.6],
        [0.0, -0.9, 0.0, 41.3],
        [0.0, 0.0, 3.0, -27.5],
        [0.0, 0.0, 0.0, 1.0],
    ];
    let data = Array3::from_shape_fn(shape, |(i, j, k)| {
        let d = ((i as f64 - 49.5) / 44.0).powi(2)
            + ((j as f64 - 44.5) / 38.0).powi(2)
            + ((k as f64 - 9.5) / 11.0).powi(2);
        let lesion =
            (i as f64 - 40.0).powi(2) + (j as f64 - 50.0).powi(2) <= 64.0 && (8..12).contains(&k);
        if lesion {
            250.0
        } else if d <= 1.0 {
            90.0 + ((i * 7 + j * 3 + k * 5) % 17) as f32
        } else {
            0.0
        }
    });
    Volume::new(data, affine)
}

/// A copy of `run` whose GTV head bias is set to `bias`: -100 makes every pixel background,
/// +100 every pixel GTV, so both branches of `predict` are exercised whatever the other weights are.
fn with_head_bias(run: &Path, to: &Path, bias: f32) -> PathBuf {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(run).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
    let best = RunPaths::new(to).best();
    let (mut tensors, meta) = read_tensors(&best).unwrap();
    let head = tensors
        .get_mut("net.decoder.head.bias")
        .expect("GTV head bias");
    let _ = head.fill_(f64::from(bias));
    let mut named: Vec<(String, tch::Tensor)> = tensors.into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    write_tensors(&best, &named, meta).unwrap();
    to.to_path_buf()
}

fn run_predict(
    run: &Path,
    input: &Path,
    out: &Path,
) -> (mtsa_eval::PredictionSummary, serde_json::Value) {
    run_predict_dicom(run, input, out, false, Precision::F32)
}

/// `predict` on the CPU from `run`, `input` to `out`: no DICOM outputs, no brain mask.
fn options(run: &Path, input: &Path, out: &Path, precision: Precision) -> PredictOptions {
    PredictOptions {
        run: run.to_path_buf(),
        input: input.to_path_buf(),
        out: out.to_path_buf(),
        load: LoadOptions {
            device: Device::Cpu,
            batch: 8,
            // Fixed, so the test neither times layouts nor writes the user's layout cache.
            layout: LayoutChoice::Fixed(Layout::Nhwc),
            precision,
        },
        outputs: Outputs::default(),
        series: SeriesPick::Only,
        brain_mask: None,
    }
}

/// `predict`, with the RT Structure Set (each lesion also as its own ROI) and the SEG when
/// `dicom_outputs`.
fn run_predict_dicom(
    run: &Path,
    input: &Path,
    out: &Path,
    dicom_outputs: bool,
    precision: Precision,
) -> (mtsa_eval::PredictionSummary, serde_json::Value) {
    let summary = predict(&PredictOptions {
        outputs: Outputs {
            rtstruct: dicom_outputs,
            lesion_rois: dicom_outputs,
            seg: dicom_outputs,
            probability: false,
        },
        ..options(run, input, out, precision)
    })
    .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("egfr.json")).unwrap()).unwrap();
    for key in [
        "mtsa_version",
        "model_preset",
        "run",
        "gtv_voxels",
        "gtv_volume_ml",
        "lesion_list",
        "egfr_probability",
        "egfr_call",
        "slices_used",
        "slices_run",
        "note",
        "files",
    ] {
        assert!(json.get(key).is_some(), "egfr.json lacks {key}: {json}");
    }
    assert_eq!(json["model_preset"], "micro");
    (summary, json)
}

#[test]
fn predicted_mask_has_the_input_geometry_empty_or_not() {
    let tmp = tempfile::tempdir().unwrap();
    let input_vol = lps_volume();
    let input = tmp.path().join("new_patient.nii.gz");
    write_nifti(&input, &input_vol).unwrap();
    let reread = mtsa_io::read_nifti(&input).unwrap();

    // Nothing predicted: an empty but valid mask, no EGFR call, and a note saying so.
    let trained = fixture_run(tmp.path());
    let run = with_head_bias(&trained, &tmp.path().join("neg"), -100.0);
    let out = tmp.path().join("pred_empty");
    let (s, json) = run_predict(&run, &input, &out);
    let mask = read_nifti_labels(&out.join("gtv.nii.gz")).unwrap();
    assert_eq!(mask.shape(), [100, 90, 20]);
    assert!(
        mask.same_geometry(&reread, 1e-4),
        "{:?} vs {:?}",
        mask.affine,
        reread.affine
    );
    assert!(mask.data.iter().all(|v| *v == 0));
    assert_eq!(s.gtv_voxels, 0);
    assert!(s.slices_run > 0);
    assert!(json["egfr_call"].is_null() && json["egfr_probability"].is_null());
    assert_eq!(json["slices_used"].as_array().unwrap().len(), 0);
    assert!(json["note"].as_str().unwrap().contains("no GTV"), "{json}");

    // Everything predicted: the mask covers brain slices only and the call is made.
    let run = with_head_bias(&trained, &tmp.path().join("pos"), 100.0);
    let out = tmp.path().join("pred_full");
    let (s, json) = run_predict(&run, &input, &out);
    let mask = read_nifti_labels(&out.join("gtv.nii.gz")).unwrap();
    assert_eq!(mask.shape(), [100, 90, 20]);
    assert!(mask.same_geometry(&reread, 1e-4));
    let voxels = mask.data.iter().filter(|v| **v > 0).count();
    assert_eq!(voxels, s.gtv_voxels);
    assert!(voxels > 0);
    // 0.9 mm is stored as f32 in the header: a relative tolerance.
    let want_ml = voxels as f64 * 0.9 * 0.9 * 3.0 / 1000.0;
    assert!(
        (s.gtv_volume_ml / want_ml - 1.0).abs() < 1e-6,
        "{} ml, want {want_ml}",
        s.gtv_volume_ml
    );
    assert!(json["note"].is_null());
    // The lesion list: the mask's own components, largest first, each centre in the LPS-stored
    // scan's RAS millimetres (i runs right to left: x = 44.6 - 0.9 i).
    assert_eq!(s.lesions, s.lesion_list.len());
    assert!(s.lesions >= 1);
    assert_eq!(
        s.lesion_list.iter().map(|l| l.voxels).sum::<usize>(),
        voxels
    );
    for (n, l) in s.lesion_list.iter().enumerate() {
        assert_eq!(l.number, n + 1);
        assert!(n == 0 || l.voxels <= s.lesion_list[n - 1].voxels);
        let [ci, cj, ck] = l.centroid_voxel;
        let want = [44.6 - 0.9 * ci, 41.3 - 0.9 * cj, -27.5 + 3.0 * ck];
        for (got, want) in l.centroid_ras_mm.iter().zip(want) {
            assert!(
                (got - want).abs() < 1e-3,
                "{:?} vs {want:?}",
                l.centroid_ras_mm
            );
        }
        assert!(l.slices[0] <= ck.floor() as usize && ck.ceil() as usize <= l.slices[1]);
        // Head bias +100: the network is sure of every pixel it marks.
        assert!(l.peak_probability.is_some_and(|p| p > 0.99), "{l:?}");
        assert_eq!(l.lesion_probability, None, "no classifier in this run");
    }

    // A run whose post-processing holds a lesion classifier: every lesion it keeps carries the
    // classifier's probability. This one looks at the mean network probability m only (near 1
    // inside every candidate here, above the 0.5 cut at its rim): sigmoid(-2 + 4 m), which
    // lies in [0.5, 0.881] for m in [0.5, 1], and the cut is 0.5.
    let features = mtsa_eval::LESION_FEATURES;
    let mut coefficients = vec![0.0; features.len()];
    coefficients[1] = 4.0;
    let record = serde_json::json!({
        "threshold": 0.5, "segment_threshold": 0.5, "min_volume_mm3": 0.0, "flip_tta": false,
        "source": "test",
        "lesion_classifier": {
            "features": features,
            "standardizer": {"mean": vec![0.0; features.len()], "scale": vec![1.0; features.len()]},
            "intercept": -2.0, "coefficients": coefficients, "cut": 0.5, "bright_contrast": 8.0,
        },
    });
    // The trained weights with a head bias under each record: one run folder and one output
    // folder per name.
    let predict_with = |name: &str, bias: f32, record: &serde_json::Value| {
        let run = with_head_bias(&trained, &tmp.path().join(format!("run_{name}")), bias);
        std::fs::write(RunPaths::new(&run).postprocess(), record.to_string()).unwrap();
        run_predict(&run, &input, &tmp.path().join(format!("pred_{name}")))
    };
    let s = predict_with("classified", 100.0, &record).0;
    assert!(s.lesions >= 1);
    for l in &s.lesion_list {
        let p = l.lesion_probability.expect("a classified lesion");
        assert!(
            (0.5..=1.0 / (1.0 + (-2f64).exp()) + 1e-9).contains(&p),
            "{l:?}"
        );
    }
    // With a second input size: the candidates are cut from the maximum of both sides'
    // probabilities, so every voxel kept before is kept again.
    let mut record = record;
    record["second_size"] = serde_json::json!(192);
    let s2 = predict_with("second", 100.0, &record).0;
    let at_least = |more: usize, less: usize| assert!(more >= less, "{more} < {less}");
    at_least(s2.gtv_voxels, s.gtv_voxels);
    assert!(s2
        .lesion_list
        .iter()
        .all(|l| l.lesion_probability.is_some()));
    // And closed (the record's `close_mm`): each kept lesion only gains voxels.
    record["close_mm"] = serde_json::json!(1.5);
    let s3 = predict_with("closed", 100.0, &record).0;
    at_least(s3.gtv_voxels, s2.gtv_voxels);
    // And outlined at 0.7 (the classifier's `outline`): no voxel is added, no lesion lost.
    record["lesion_classifier"]["outline"] = serde_json::json!(0.7);
    let s4 = predict_with("outlined", 100.0, &record).0;
    at_least(s3.gtv_voxels, s4.gtv_voxels);
    assert_eq!(s4.lesions, s3.lesions);

    let p = json["egfr_probability"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p));
    let call = json["egfr_call"].as_str().unwrap();
    assert_eq!(call, if p > 0.5 { "mutant" } else { "wild" });
    // Top half (rounded up) of the slices with GTV vote.
    let used = json["slices_used"].as_array().unwrap().len();
    assert_eq!(used, s.slices_run.div_ceil(2));
    assert!(out
        .join(format!(
            "overlay_slice{:03}.png",
            s.slices_used[0].slice_index
        ))
        .is_file());

    // The same in bf16 (opt-in): the same mask, an EGFR probability within bf16 rounding.
    let out16 = tmp.path().join("pred_full_bf16");
    let (s16, json16) = run_predict_dicom(&run, &input, &out16, false, Precision::Bf16);
    assert_eq!(s16.gtv_voxels, s.gtv_voxels);
    let p16 = json16["egfr_probability"].as_f64().unwrap();
    assert!((p16 - p).abs() < 0.02, "bf16 {p16} vs f32 {p}");

    // A run with an EGFR phenotype model: the call comes from the measured lesions, here
    // sigmoid(-1 + 0.5 * lesions), with the network's vote beside it; on an empty mask the
    // model's prevalence stands in.
    let names = mtsa_eval::PHENOTYPE_FEATURES;
    let mut coefficients = vec![0.0; names.len()];
    coefficients[0] = 0.5;
    let phenotype = serde_json::json!({
        "threshold": 0.5, "min_volume_mm3": 0.0, "flip_tta": false, "source": "test",
        "egfr_phenotype": {
            "features": names,
            "standardizer": {"mean": vec![0.0; names.len()], "scale": vec![1.0; names.len()]},
            "intercept": -1.0, "coefficients": coefficients, "prevalence": 0.3, "patients": 10,
            "prior": [0.5, 0.2],
        },
    });
    for (bias, name) in [(100.0, "pos_phenotype"), (-100.0, "neg_phenotype")] {
        let (s, json) = predict_with(name, bias, &phenotype);
        assert_eq!(json["egfr_source"], "lesion phenotype");
        let p = s.egfr_probability.unwrap();
        if bias > 0.0 {
            assert!(s.lesions >= 1);
            let measured = &json["lesion_phenotype"];
            assert_eq!(
                measured["lesions"].as_f64(),
                Some(s.lesions as f64),
                "{json}"
            );
            let want = 1.0 / (1.0 + (1.0 - 0.5 * s.lesions as f64).exp());
            assert!((p - want).abs() < 1e-9, "{p} vs {want}");
            assert!(s.network_egfr_probability.is_some());
        } else {
            assert_eq!(p, 0.3);
            assert!(json.get("lesion_phenotype").is_none(), "{json}");
            assert!(
                json["note"].as_str().unwrap().contains("prevalence"),
                "{json}"
            );
        }
    }

    // A run calibrated on thinner slices: this scan's 3 mm slices draw a warning when they are
    // more than 1.5 times as thick as the calibration scans' (none at 2 mm, one at 1.9 mm).
    for (calibrated, warned) in [(2.0, false), (1.9, true)] {
        let record = serde_json::json!({
            "threshold": 0.5, "min_volume_mm3": 0.0, "flip_tta": false, "source": "test",
            "calibrated_slice_mm": calibrated,
        });
        let (s, json) = predict_with(&format!("slices_{calibrated}"), 100.0, &record);
        assert_eq!(s.warnings.len(), usize::from(warned), "{json}");
        match json["warnings"].as_array() {
            Some(w) => {
                let text = w[0].as_str().unwrap();
                assert!(
                    text.contains("3.0 mm thick") && text.contains("1.9 mm"),
                    "{text}"
                );
            }
            None => assert!(!warned, "{json}"),
        }
    }
}

/// A DICOM series in: the RT Structure Set and the Segmentation written beside `gtv.nii.gz`
/// reference that series and hold the same voxels (the SEG's 1-bit frames unpacked here, the
/// structure set rasterised back by our reader).
/// `--probabilities`: `probability.nii.gz` on exactly the input's grid, named in `egfr.json`'s
/// files, near 0 everywhere when the network marks nothing and above one half on every voxel of
/// the mask when it marks everything (this run thresholds that map); without the option, no
/// such file.
#[test]
fn the_probability_map_is_written_on_the_input_grid_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("new_patient.nii.gz");
    write_nifti(&input, &lps_volume()).unwrap();
    let reread = mtsa_io::read_nifti(&input).unwrap();
    let trained = fixture_run(tmp.path());
    let predict_map = |bias: f32, name: &str| {
        let run = with_head_bias(&trained, &tmp.path().join(format!("run_{name}")), bias);
        let out = tmp.path().join(name);
        let summary = predict(&PredictOptions {
            outputs: Outputs {
                probability: true,
                ..Outputs::default()
            },
            ..options(&run, &input, &out, Precision::F32)
        })
        .unwrap();
        assert!(summary.files.iter().any(|f| f == "probability.nii.gz"));
        let map = mtsa_io::read_nifti(&out.join("probability.nii.gz")).unwrap();
        assert!(map.same_geometry(&reread, 1e-4));
        assert!(map.data.iter().all(|p| (0.0..=1.0).contains(p)));
        let mask = read_nifti_labels(&out.join("gtv.nii.gz")).unwrap();
        (map, mask)
    };
    let (map, mask) = predict_map(-100.0, "none");
    assert!(map.data.iter().all(|p| *p < 1e-6));
    assert!(mask.data.iter().all(|v| *v == 0));
    let (map, mask) = predict_map(100.0, "all");
    assert!(mask.data.iter().any(|v| *v != 0));
    for (p, m) in map.data.iter().zip(mask.data.iter()) {
        assert!(*m == 0 || *p > 0.5, "mask voxel at probability {p}");
    }

    let out = tmp.path().join("without");
    run_predict(&trained, &input, &out);
    assert!(!out.join("probability.nii.gz").exists());
}

#[test]
fn dicom_input_gets_an_rtstruct_and_a_seg_of_the_same_mask() {
    let tmp = tempfile::tempdir().unwrap();
    let series_dir = tmp.path().join("series");
    let meta = mtsa_dicom::SeriesMeta {
        uids: mtsa_dicom::UidSource::Seeded(5),
        ..mtsa_dicom::SeriesMeta::default()
    };
    let series = mtsa_dicom::write_series(&series_dir, &lps_volume(), &meta).unwrap();
    let (grid, _) = mtsa_dicom::read_series(&series_dir, None).unwrap();
    let fixture = fixture_run(tmp.path());
    let run = with_head_bias(&fixture, &tmp.path().join("pos"), 100.0);
    let out = tmp.path().join("pred");
    let (s, json) = run_predict_dicom(&run, &series_dir, &out, true, Precision::F32);
    let files: Vec<&str> = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        files.contains(&"rtstruct.dcm") && files.contains(&"seg.dcm"),
        "{files:?}"
    );
    assert!(s.gtv_voxels > 0);

    let seg = dicom_object::open_file(out.join("seg.dcm")).unwrap();
    let text = |tag| {
        seg.element(tag)
            .unwrap()
            .to_str()
            .unwrap()
            .trim()
            .to_string()
    };
    use dicom_dictionary_std::tags;
    assert_eq!(text(tags::SOP_CLASS_UID), "1.2.840.10008.5.1.4.1.1.66.4");
    assert_eq!(text(tags::STUDY_INSTANCE_UID), series.study_instance_uid);
    assert_eq!(
        text(tags::FRAME_OF_REFERENCE_UID),
        series.frame_of_reference_uid
    );
    // Segment 1 (the whole GTV) has a frame per image, then come the lesions' frames.
    let images = series.sop_instance_uids.len();
    let frames: usize = text(tags::NUMBER_OF_FRAMES).parse().unwrap();
    assert!(frames >= images + s.lesion_list.len(), "{frames} frames");
    let bits = seg.element(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
    let n = images * series.rows * series.columns;
    let set = (0..n).filter(|&i| bits[i / 8] >> (i % 8) & 1 == 1).count();
    assert_eq!(set, s.gtv_voxels, "SEG pixels vs gtv.nii.gz voxels");

    // In both objects, the whole GTV, then each lesion numbered as the lesion list: they tile
    // the GTV.
    let rt_path = out.join("rtstruct.dcm");
    let seg_path = out.join("seg.dcm");
    assert!(!s.lesion_list.is_empty());
    for (path, whole) in [(&rt_path, "GTV_mtsa"), (&seg_path, "GTV")] {
        let expected: Vec<String> = std::iter::once(whole.to_string())
            .chain(
                s.lesion_list
                    .iter()
                    .map(|l| format!("{whole}_{}", l.number)),
            )
            .collect();
        let names = if path == &rt_path {
            mtsa_dicom::list_rois(path).unwrap()
        } else {
            mtsa_dicom::list_segments(path).unwrap()
        };
        assert_eq!(names, expected);
        let read = |name: &str| {
            mtsa_dicom::read_gtv_object(path, name, &series, &grid)
                .unwrap()
                .mask
        };
        let gtv = read(whole);
        assert_eq!(gtv.data.iter().filter(|v| **v != 0).count(), s.gtv_voxels);
        let mut union = vec![0u8; gtv.data.len()];
        for l in &s.lesion_list {
            let lesion = read(&format!("{whole}_{}", l.number));
            assert_eq!(lesion.data.iter().filter(|v| **v != 0).count(), l.voxels);
            for (u, v) in union.iter_mut().zip(lesion.data.iter()) {
                assert!(*u == 0 || *v == 0, "lesions overlap in {}", path.display());
                *u |= *v;
            }
        }
        assert!(union
            .iter()
            .zip(gtv.data.iter())
            .all(|(u, g)| (*u != 0) == (*g != 0)));
    }
}

/// A study exported whole (the T1-CE beside a T2, in subfolders): the folder's series is
/// ambiguous until `--series-description` names it, and then the prediction is the one on the
/// T1-CE series alone, its structure set referencing that series.
#[test]
fn a_series_description_picks_the_t1ce_of_a_whole_study() {
    let tmp = tempfile::tempdir().unwrap();
    let study = tmp.path().join("study");
    let write = |dir: &str, seed: u64, description: &str| {
        let meta = mtsa_dicom::SeriesMeta {
            uids: mtsa_dicom::UidSource::Seeded(seed),
            series_description: description.into(),
            ..mtsa_dicom::SeriesMeta::default()
        };
        mtsa_dicom::write_series(&study.join(dir), &lps_volume(), &meta).unwrap()
    };
    let t2 = write("SE1", 5, "T2 TSE");
    let t1ce = write("SE2", 6, "T1 MPRAGE post Gd");
    let run = with_head_bias(&fixture_run(tmp.path()), &tmp.path().join("pos"), 100.0);
    let opts = |out: &str, series: SeriesPick| PredictOptions {
        outputs: Outputs {
            rtstruct: true,
            ..Outputs::default()
        },
        series,
        ..options(&run, &study, &tmp.path().join(out), Precision::F32)
    };
    let err = predict(&opts("a", SeriesPick::Only))
        .unwrap_err()
        .to_string();
    assert!(err.contains("2 image series found"), "{err}");
    assert!(!tmp.path().join("a").exists());
    let err = predict(&opts("b", SeriesPick::Described("*flair*".into())))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no Series Description matches '*flair*'") && err.contains("T2 TSE"),
        "{err}"
    );
    let s = predict(&opts("c", SeriesPick::Described("*t1*post*".into()))).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("c/egfr.json")).unwrap())
            .unwrap();
    assert_eq!(json["series"]["series_description"], "T1 MPRAGE post Gd");
    assert_eq!(
        json["series"]["series_instance_uid"],
        t1ce.series_instance_uid.as_str()
    );
    // A batch over such studies picks the same series, and its summary says which, on the
    // first run and on a rerun that finds the study done.
    let studies = vec![mtsa_eval::Study {
        name: "study".into(),
        input: study.clone(),
        brain_mask: None,
    }];
    let out = tmp.path().join("batch");
    std::fs::create_dir(&out).unwrap();
    for status in ["done", "done earlier"] {
        let rows = mtsa_eval::predict_batch(&BatchOptions {
            run: run.clone(),
            studies: studies.clone(),
            out: out.clone(),
            load: options(&run, &study, &out, Precision::F32).load,
            outputs: Outputs::default(),
            series: SeriesPick::Described("*t1*post*".into()),
            part: 0,
            parts: 1,
            progress: None,
        })
        .unwrap();
        assert_eq!(rows[0].status, status);
        assert_eq!(rows[0].gtv_volume_ml, Some(s.gtv_volume_ml));
        assert_eq!(
            rows[0].series_description.as_deref(),
            Some("T1 MPRAGE post Gd")
        );
        assert_eq!(
            rows[0].series_uid.as_deref(),
            Some(t1ce.series_instance_uid.as_str())
        );
    }
    // A DICOMDIR at the top of the export stands for its folder.
    let dicomdir = study.join("DICOMDIR");
    dicom_object::InMemDicomObject::new_empty()
        .with_meta(
            dicom_object::meta::FileMetaTableBuilder::new()
                .transfer_syntax("1.2.840.10008.1.2.1")
                .media_storage_sop_class_uid("1.2.840.10008.1.3.10")
                .media_storage_sop_instance_uid("2.25.1"),
        )
        .unwrap()
        .write_to_file(&dicomdir)
        .unwrap();
    assert!(mtsa_dicom::is_dicomdir(&dicomdir));
    let from_index = predict(&PredictOptions {
        input: dicomdir,
        ..opts("f", SeriesPick::Described("*t1*post*".into()))
    })
    .unwrap();
    assert_eq!(from_index.gtv_voxels, s.gtv_voxels);
    let alone = tmp.path().join("alone");
    let only = predict(&options(&run, &study.join("SE2"), &alone, Precision::F32)).unwrap();
    assert_eq!(s.gtv_voxels, only.gtv_voxels);
    // One file of the T1-CE stands for its series, read from its folder.
    let slice = std::fs::read_dir(study.join("SE2"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    let from_file = predict(&PredictOptions {
        input: slice.clone(),
        ..opts("d", SeriesPick::Only)
    })
    .unwrap();
    assert_eq!(from_file.gtv_voxels, only.gtv_voxels);
    let err = predict(&PredictOptions {
        input: slice,
        ..opts("e", SeriesPick::Uid(t2.series_instance_uid.clone()))
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("names its own series"), "{err}");
    // A file that is neither NIfTI, DICOM nor a list says so.
    let junk = tmp.path().join("scan.mha");
    std::fs::write(&junk, [0u8, 159, 146, 150, 255, 0, 1]).unwrap();
    let err = mtsa_eval::batch_studies(&junk).unwrap_err().to_string();
    assert!(
        err.contains("neither a NIfTI file") && err.contains("scan.mha"),
        "{err}"
    );
    let rt = dicom_object::open_file(tmp.path().join("c/rtstruct.dcm")).unwrap();
    let text = format!("{rt:?}");
    assert!(text.contains(&t1ce.series_instance_uid) && !text.contains(&t2.series_instance_uid));
}

/// Many studies: the model loads once, a broken study is reported while the others finish, a
/// rerun skips what is done, and the parts of a split cover every study exactly once.
#[test]
fn batch_prediction_goes_on_past_failures_skips_finished_studies_and_shards() {
    use mtsa_eval::{batch_studies, predict_batch, shard, BatchOptions, Outputs, Study};
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("studies");
    std::fs::create_dir(&inputs).unwrap();
    for name in ["b", "a"] {
        write_nifti(&inputs.join(format!("{name}.nii.gz")), &lps_volume()).unwrap();
    }
    std::fs::write(inputs.join("c.nii.gz"), b"not a NIfTI").unwrap();
    let studies = batch_studies(&inputs)
        .unwrap()
        .expect("a folder of NIfTI files is a batch");
    let names: Vec<&str> = studies.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    // One NIfTI file, or a folder with other files (a DICOM series), is one study.
    assert_eq!(batch_studies(&inputs.join("a.nii.gz")).unwrap(), None);
    // A list file names studies relative to itself.
    std::fs::write(
        tmp.path().join("list.txt"),
        "# archive\nstudies/b.nii.gz\n\nstudies/a.nii.gz\n",
    )
    .unwrap();
    let listed = batch_studies(&tmp.path().join("list.txt"))
        .unwrap()
        .unwrap();
    assert_eq!(listed, studies[..2].to_vec());

    let run = fixture_run(tmp.path());
    let out = tmp.path().join("batch");
    std::fs::create_dir(&out).unwrap();
    let opts = |part, parts| BatchOptions {
        run: run.clone(),
        studies: studies.clone(),
        out: out.clone(),
        load: LoadOptions {
            device: Device::Cpu,
            layout: LayoutChoice::Fixed(Layout::Nhwc),
            batch: 8,
            precision: mtsa_model::Precision::F32,
        },
        outputs: Outputs::default(),
        series: SeriesPick::Only,
        part,
        parts,
        progress: None,
    };
    let rows = predict_batch(&opts(0, 1)).unwrap();
    let status: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(status, ["done", "done", "failed"]);
    assert!(rows[2].error.as_deref().unwrap().contains("c.nii.gz"));
    assert!(out.join("a").join("gtv.nii.gz").is_file() && !out.join("c").exists());
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 4, "{summary}");
    // A rerun does not predict the finished studies again.
    let again = predict_batch(&opts(0, 1)).unwrap();
    let status: Vec<&str> = again.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(status, ["done earlier", "done earlier", "failed"]);
    assert_eq!(again[0].egfr_probability, rows[0].egfr_probability);
    // Three parts: each study in exactly one.
    let mut seen: Vec<Study> = (0..3)
        .flat_map(|p| shard(&studies, p, 3).unwrap())
        .collect();
    seen.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(seen, studies);
    assert!(shard(&studies, 3, 3).is_err());
}

/// A scan z-scored after skull stripping (its background at `-mean / sd`, as the BRATS 2013
/// cases are stored) is read as the same scan unnormalised: the network runs on the same 12
/// brain slices and writes the same mask. Read as stored, every voxel would be brain.
#[test]
fn a_z_scored_scan_is_predicted_as_the_scan_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let mut raw = lps_volume();
    for ((_, _, k), v) in raw.data.indexed_iter_mut() {
        if !(4..16).contains(&k) {
            *v = 0.0;
        }
    }
    let (mean, sd) = (50.0f32, 40.0f32);
    let z = raw.map(|&v| (v - mean) / sd);
    let (raw_path, z_path) = (tmp.path().join("raw.nii.gz"), tmp.path().join("z.nii.gz"));
    write_nifti(&raw_path, &raw).unwrap();
    write_nifti(&z_path, &z).unwrap();
    let trained = fixture_run(tmp.path());
    let run = with_head_bias(&trained, &tmp.path().join("pos"), 100.0);
    let (a, _) = run_predict(&run, &raw_path, &tmp.path().join("pred_raw"));
    let (b, _) = run_predict(&run, &z_path, &tmp.path().join("pred_z"));
    assert_eq!((a.slices_run, b.slices_run), (12, 12));
    let mask = |d: &str| read_nifti_labels(&tmp.path().join(d).join("gtv.nii.gz")).unwrap();
    assert_eq!(mask("pred_raw").data, mask("pred_z").data);
    assert!(a.gtv_voxels > 0);
}

/// The fixture scan stripped, as a head scan (its background noise, not 0) and its brain mask.
fn head_scan() -> (Volume<f32>, Volume<f32>, Volume<u8>) {
    let stripped = lps_volume();
    let mut head = stripped.clone();
    for ((i, j, k), v) in head.data.indexed_iter_mut() {
        if *v == 0.0 {
            *v = 20.0 + ((i * 7 + j * 3 + k * 11) % 50) as f32 * 0.1;
        }
    }
    let brain = stripped.map(|&v| u8::from(v != 0.0));
    (stripped, head, brain)
}

/// A head scan (air that is noise, not 0) draws the warning that it does not look
/// skull-stripped; the same scan with its brain mask, or the stripped scan, does not.
#[test]
fn a_scan_that_is_not_skull_stripped_is_warned_about_unless_masked() {
    let tmp = tempfile::tempdir().unwrap();
    let (stripped, head, brain) = head_scan();
    let paths = ["stripped", "head", "brain"].map(|n| tmp.path().join(format!("{n}.nii.gz")));
    write_nifti(&paths[0], &stripped).unwrap();
    write_nifti(&paths[1], &head).unwrap();
    write_nifti(&paths[2], &brain).unwrap();
    let trained = fixture_run(tmp.path());
    let run = with_head_bias(&trained, &tmp.path().join("neg"), -100.0);
    let warned = |input: &Path, mask: Option<&Path>, out: &str| {
        let s = predict(&PredictOptions {
            brain_mask: mask.map(Path::to_path_buf),
            ..options(&run, input, &tmp.path().join(out), Precision::F32)
        })
        .unwrap();
        s.warnings.iter().any(|w| w.contains("skull-stripped"))
    };
    assert!(warned(&paths[1], None, "head"));
    assert!(!warned(&paths[1], Some(&paths[2]), "head_masked"));
    assert!(!warned(&paths[0], None, "stripped"));
}

/// A batch reads each study with its mask from `--brain-masks`: the head scan masked is
/// predicted as the stripped scan is, without the skull-stripping warning it draws unmasked; a
/// study without a mask is read as it is, and a mask that names no study, or a second mask for
/// one, is refused.
#[test]
fn a_batch_reads_each_study_with_its_brain_mask() {
    use mtsa_eval::{batch_studies, predict_batch, with_brain_masks, BatchOptions, Outputs};
    let tmp = tempfile::tempdir().unwrap();
    let (stripped, head, brain) = head_scan();
    let (inputs, masks) = (tmp.path().join("studies"), tmp.path().join("masks"));
    std::fs::create_dir(&inputs).unwrap();
    std::fs::create_dir(&masks).unwrap();
    write_nifti(&inputs.join("head.nii.gz"), &head).unwrap();
    write_nifti(&inputs.join("stripped.nii.gz"), &stripped).unwrap();
    write_nifti(&masks.join("head.nii.gz"), &brain).unwrap();
    let studies = batch_studies(&inputs).unwrap().unwrap();
    let masked = with_brain_masks(studies.clone(), &masks).unwrap();
    assert_eq!(masked[0].brain_mask, Some(masks.join("head.nii.gz")));
    assert_eq!(masked[1].brain_mask, None);

    let run = with_head_bias(&fixture_run(tmp.path()), &tmp.path().join("pos"), 100.0);
    let batch = |studies: &[mtsa_eval::Study], out: &str| {
        let out = tmp.path().join(out);
        std::fs::create_dir(&out).unwrap();
        let rows = predict_batch(&BatchOptions {
            run: run.clone(),
            studies: studies.to_vec(),
            out: out.clone(),
            load: options(&run, &inputs, &out, Precision::F32).load,
            outputs: Outputs::default(),
            series: SeriesPick::Only,
            part: 0,
            parts: 1,
            progress: None,
        })
        .unwrap();
        let unstripped = |r: &mtsa_eval::BatchRow| {
            r.warnings
                .as_deref()
                .is_some_and(|w| w.contains("skull-stripped"))
        };
        let gtv = |s: &str| read_nifti_labels(&out.join(s).join("gtv.nii.gz")).unwrap();
        assert!(rows.iter().all(|r| r.status == "done"), "{rows:?}");
        (
            rows.iter().map(unstripped).collect::<Vec<_>>(),
            gtv("head"),
            gtv("stripped"),
        )
    };
    let (warned, head_gtv, stripped_gtv) = batch(&masked, "with_masks");
    assert_eq!(warned, [false, false]);
    assert_eq!(head_gtv.data, stripped_gtv.data);
    assert!(head_gtv.data.iter().any(|&v| v > 0));
    let (warned, _, _) = batch(&studies, "without");
    assert_eq!(warned, [true, false]);

    write_nifti(&masks.join("heda.nii.gz"), &brain).unwrap();
    let err = with_brain_masks(studies.clone(), &masks)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("heda.nii.gz") && err.contains("names no scan"),
        "{err}"
    );
    // Two masks for one study (plain and gzipped) are refused; a note beside them is passed over.
    std::fs::remove_file(masks.join("heda.nii.gz")).unwrap();
    std::fs::write(masks.join("README.txt"), "from SynthStrip").unwrap();
    assert!(with_brain_masks(studies.clone(), &masks).is_ok());
    mtsa_io::write_nifti(&masks.join("head.nii"), &brain).unwrap();
    let err = with_brain_masks(studies, &masks).unwrap_err().to_string();
    assert!(err.contains("duplicate id \"head\""), "{err}");
}
