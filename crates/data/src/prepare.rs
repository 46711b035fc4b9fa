//! `mtsa prepare`: cohort folder in, compact dataset out. Everything that can be checked without
//! reading volumes (layout, clinical table, split) is checked first; volumes are then processed
//! in parallel, and the dataset is built in a temporary folder that only becomes visible when
//! complete, so an error anywhere leaves nothing behind.

use crate::clinical::{read_clinical, ClinicalRecord};
use crate::dataset::{
    compute_data_hash, info_path, write_split, DatasetInfo, PatientInfo, SliceRecord, SplitCount,
    SplitData, FORMAT_VERSION,
};
use crate::layout::{discover, Case, CohortFiles, LayoutKind};
use crate::preprocess::{normalise, resample_canonical_mask_slice, PreprocessConfig};
use crate::split::{assign_by_date, assign_from_file, internal_site, SplitInput};
use crate::DataError;
use chrono::NaiveDate;
use mtsa_io::{read_nifti, read_nifti_labels, AtomicDir, Volume};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// Options of `mtsa prepare`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrepareConfig {
    pub size: usize,
    pub fov_mm: f64,
    pub clip_percentiles: (f64, f64),
    /// Internal patients diagnosed strictly after this date form `test`.
    pub cutoff: NaiveDate,
    pub val_patients: usize,
    pub seed: u64,
    /// Mask labels that make up the GTV (BRATS tumour core: 1, 3, 4). NIfTI label maps only: a
    /// DICOM structure set's ROI is the GTV as a whole.
    pub gtv_labels: Vec<u16>,
    /// Mask labels treated as background without complaint (BRATS oedema: 2).
    pub ignore_labels: Vec<u16>,
    /// DICOM layout: name of the GTV ROI in each structure set (case-insensitive). Clinical
    /// exports name it by local convention ("GTV", "GTV_1", "Tumour"), hence an option.
    pub roi: String,
    /// JSON `{"train": [ids], ...}` that replaces the date-based split.
    pub splits_file: Option<PathBuf>,
    /// Case-folder layout: image and label file names inside each case folder.
    pub image_name: Option<String>,
    pub label_name: Option<String>,
    /// Replace a non-empty output folder.
    pub overwrite: bool,
    /// Worker threads; 0 = one per available core.
    pub threads: usize,
}

impl Default for PrepareConfig {
    fn default() -> Self {
        let p = PreprocessConfig::default();
        Self {
            size: p.size,
            fov_mm: p.fov_mm,
            clip_percentiles: p.clip_percentiles,
            cutoff: NaiveDate::from_ymd_opt(2021, 5, 1).unwrap_or_default(),
            val_patients: 10,
            seed: 0,
            gtv_labels: vec![1],
            ignore_labels: Vec::new(),
            roi: "GTV".into(),
            splits_file: None,
            image_name: None,
            label_name: None,
            overwrite: false,
            threads: 0,
        }
    }
}

impl PrepareConfig {
    pub fn preprocess(&self) -> PreprocessConfig {
        PreprocessConfig {
            size: self.size,
            fov_mm: self.fov_mm,
            clip_percentiles: self.clip_percentiles,
        }
    }

    fn validate(&self) -> Result<(), DataError> {
        self.preprocess().validate()?;
        if self.gtv_labels.is_empty() || self.gtv_labels.contains(&0) {
            return Err(DataError::Config(
                "GTV labels must be a non-empty list of labels other than 0".into(),
            ));
        }
        if let Some(l) = self
            .ignore_labels
            .iter()
            .find(|l| self.gtv_labels.contains(l))
        {
            return Err(DataError::Config(format!(
                "label {l} is both a GTV label and an ignored label"
            )));
        }
        if self.roi.trim().is_empty() {
            return Err(DataError::Config("the GTV ROI name is empty".into()));
        }
        Ok(())
    }
}

/// What `prepare` did, for the CLI to print.
#[derive(Debug, Clone, PartialEq)]
pub struct PrepareSummary {
    pub out: PathBuf,
    pub layout: LayoutKind,
    pub patients: usize,
    pub counts: BTreeMap<String, SplitCount>,
    pub has_egfr: bool,
    pub data_hash: String,
    pub warnings: Vec<String>,
}

/// One patient's stored slices.
struct PatientSlices {
    images: Vec<f32>,
    masks: Vec<u8>,
    records: Vec<SliceRecord>,
}

/// Per-patient facts from the clinical table (or defaults without one).
struct Meta {
    site: String,
    egfr: Option<u8>,
    record: Option<ClinicalRecord>,
}

/// Prepares `cohort` into the dataset folder `out`. `progress(done, total)` is called from the
/// calling thread after each patient.
pub fn prepare(
    cohort: &Path,
    out: &Path,
    cfg: &PrepareConfig,
    progress: &dyn Fn(usize, usize),
) -> Result<PrepareSummary, DataError> {
    cfg.validate()?;
    let files = discover(cohort, cfg.image_name.as_deref(), cfg.label_name.as_deref())?;
    let mut metas = match_clinical(&files)?;
    let inputs: Vec<SplitInput> = files
        .cases
        .iter()
        .zip(&metas)
        .map(|(c, m)| SplitInput {
            id: c.id.clone(),
            site: m.site.clone(),
            diagnosis_date: m.record.as_ref().and_then(|r| r.diagnosis_date),
        })
        .collect();
    let internal = internal_site(&inputs);
    for m in metas.iter_mut().filter(|m| m.site.is_empty()) {
        m.site = internal.clone();
    }
    let ids: Vec<String> = files.cases.iter().map(|c| c.id.clone()).collect();
    let (assignment, mut warnings) = match &cfg.splits_file {
        Some(path) => (assign_from_file(path, &ids)?, Vec::new()),
        None => assign_by_date(
            &inputs,
            cfg.cutoff,
            cfg.val_patients,
            cfg.seed,
            files.clinical.as_deref(),
        )?,
    };

    let dir = AtomicDir::output(out, "prepare", cfg.overwrite)?;
    let results = process_all(&files, &metas, cfg, progress)?;

    let mut splits: BTreeMap<String, SplitData> = BTreeMap::new();
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut patients = Vec::with_capacity(files.cases.len());
    for ((case, meta), slices) in files.cases.iter().zip(&metas).zip(results) {
        let split = assignment
            .get(&case.id)
            .cloned()
            .ok_or_else(|| DataError::Config(format!("patient {} has no split", case.id)))?;
        if slices.records.is_empty() {
            warnings.push(format!(
                "{}: no slice with GTV after resampling; patient contributes no slices",
                case.label.display()
            ));
        }
        patients.push(PatientInfo {
            id: case.id.clone(),
            site: meta.site.clone(),
            split: split.clone(),
            egfr: meta.egfr,
            diagnosis_date: meta.record.as_ref().and_then(|r| r.diagnosis_date),
            n_slices: slices.records.len(),
            clinical: meta
                .record
                .as_ref()
                .map(|r| r.extra.clone())
                .unwrap_or_default(),
        });
        members
            .entry(split.clone())
            .or_default()
            .push(case.id.clone());
        let data = splits
            .entry(split)
            .or_insert_with(|| SplitData::new(cfg.size));
        data.images.extend(slices.images);
        data.masks.extend(slices.masks);
        data.slices.extend(slices.records);
    }

    let root = dir.path();
    for (name, data) in &splits {
        write_split(root, name, data)?;
    }
    write_json(&root.join("splits.json"), &members)?;
    let truth = cohort.join("truth.json");
    let has_truth = truth.is_file();
    if has_truth {
        std::fs::copy(&truth, root.join("truth.json")).map_err(|e| DataError::io(&truth, e))?;
    }
    let split_names: Vec<String> = splits.keys().cloned().collect();
    let data_hash = compute_data_hash(root, &split_names)?;
    let counts: BTreeMap<String, SplitCount> = splits
        .iter()
        .map(|(name, d)| {
            let n_pat = members.get(name).map_or(0, Vec::len);
            (
                name.clone(),
                SplitCount {
                    patients: n_pat,
                    slices: d.len(),
                },
            )
        })
        .collect();
    let has_egfr = patients.iter().any(|p| p.egfr.is_some());
    let by_date = cfg.splits_file.is_none();
    let info = DatasetInfo {
        format_version: FORMAT_VERSION,
        size: cfg.size,
        splits: split_names,
        counts: counts.clone(),
        has_egfr,
        data_hash: data_hash.clone(),
        preprocess: cfg.preprocess(),
        patients,
        cohort: cohort
            .canonicalize()
            .unwrap_or_else(|_| cohort.to_path_buf())
            .display()
            .to_string(),
        layout: files.kind,
        gtv_labels: cfg.gtv_labels.clone(),
        ignore_labels: cfg.ignore_labels.clone(),
        cutoff: by_date.then_some(cfg.cutoff),
        val_patients: by_date.then_some(cfg.val_patients),
        seed: by_date.then_some(cfg.seed),
        splits_file: cfg.splits_file.as_ref().map(|p| p.display().to_string()),
        internal_site: internal,
        has_truth,
    };
    write_json(&info_path(root), &info)?;
    let out = dir.commit()?;
    Ok(PrepareSummary {
        out,
        layout: files.kind,
        patients: files.cases.len(),
        counts,
        has_egfr,
        data_hash,
        warnings,
    })
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), DataError> {
    let json =
        serde_json::to_vec_pretty(value).map_err(|e| DataError::invalid(path, e.to_string()))?;
    std::fs::write(path, json).map_err(|e| DataError::io(path, e))
}

/// Pairs cases with clinical rows; a row without a case, or (when a table exists) a case without
/// a row, is an error.
fn match_clinical(files: &CohortFiles) -> Result<Vec<Meta>, DataError> {
    let Some(path) = &files.clinical else {
        return Ok(files
            .cases
            .iter()
            .map(|_| Meta {
                site: String::new(),
                egfr: None,
                record: None,
            })
            .collect());
    };
    let table = read_clinical(path)?;
    let mut rows: HashMap<String, ClinicalRecord> = table
        .records
        .into_iter()
        .map(|r| (r.patient_id.clone(), r))
        .collect();
    let mut metas = Vec::with_capacity(files.cases.len());
    for case in &files.cases {
        let record = rows.remove(&case.id).ok_or_else(|| {
            DataError::invalid(
                &case.image,
                format!("patient {:?} has no row in {}", case.id, path.display()),
            )
        })?;
        metas.push(Meta {
            site: record.site.clone(),
            egfr: record.egfr,
            record: Some(record),
        });
    }
    let mut orphans: Vec<&String> = rows.keys().collect();
    orphans.sort();
    if let Some(id) = orphans.first() {
        return Err(DataError::invalid(
            path,
            format!("patient {id:?} has no image in the cohort"),
        ));
    }
    Ok(metas)
}

/// Processes every case on a few worker threads; results come back in case order. The first
/// failure stops the remaining work and is returned.
fn process_all(
    files: &CohortFiles,
    metas: &[Meta],
    cfg: &PrepareConfig,
    progress: &dyn Fn(usize, usize),
) -> Result<Vec<PatientSlices>, DataError> {
    let cases = &files.cases;
    let total = cases.len();
    let threads = match cfg.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .clamp(1, total.max(1));
    let next = AtomicUsize::new(0);
    let abort = AtomicBool::new(false);
    let mut results: Vec<Option<PatientSlices>> = (0..total).map(|_| None).collect();
    let mut first_error: Option<(usize, DataError)> = None;
    progress(0, total);
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel();
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, abort) = (&next, &abort);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total || abort.load(Ordering::Relaxed) {
                    break;
                }
                let r = process_case(files.kind, &cases[i], &metas[i], cfg);
                if r.is_err() {
                    abort.store(true, Ordering::Relaxed);
                }
                if tx.send((i, r)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut done = 0;
        for (i, r) in rx {
            match r {
                Ok(slices) => {
                    results[i] = Some(slices);
                    done += 1;
                    progress(done, total);
                }
                Err(e) => {
                    // Keep the lowest-index failure so the message does not depend on timing
                    // more than it must.
                    if first_error.as_ref().is_none_or(|(j, _)| i < *j) {
                        first_error = Some((i, e));
                    }
                }
            }
        }
    });
    if let Some((_, e)) = first_error {
        return Err(e);
    }
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.ok_or_else(|| DataError::Config(format!("case {} was not processed", cases[i].id)))
        })
        .collect()
}

/// Builds a lookup of which label values are GTV (1), ignored (0) or invalid (None).
fn label_table(cfg: &PrepareConfig) -> HashMap<u16, u8> {
    let mut t: HashMap<u16, u8> = HashMap::new();
    t.insert(0, 0);
    for &l in &cfg.ignore_labels {
        t.insert(l, 0);
    }
    for &l in &cfg.gtv_labels {
        t.insert(l, 1);
    }
    t
}

/// Reduces a label map to the binary GTV, refusing labels the user did not name.
fn gtv_mask(
    labels: &Volume<u16>,
    cfg: &PrepareConfig,
    path: &Path,
) -> Result<Volume<u8>, DataError> {
    let table = label_table(cfg);
    // A dense lookup keeps the per-voxel cost to one index; labels are < 65536.
    let mut dense = vec![u8::MAX; 65536];
    for (&l, &v) in &table {
        dense[l as usize] = v;
    }
    let mut bad: Vec<u16> = Vec::new();
    let mask = labels.map(|&v| {
        let m = dense[v as usize];
        if m == u8::MAX {
            if bad.len() < 5 && !bad.contains(&v) {
                bad.push(v);
            }
            0
        } else {
            m
        }
    });
    if !bad.is_empty() {
        bad.sort_unstable();
        return Err(DataError::invalid(
            path,
            format!(
                "mask holds label(s) {bad:?} outside the GTV labels {:?} and ignored labels {:?} \
                 (set --gtv-labels / --ignore-labels)",
                cfg.gtv_labels, cfg.ignore_labels
            ),
        ));
    }
    Ok(mask)
}

/// Geometry tolerance between an image and its mask/brain mask, mm per affine entry: headers
/// store floats, so exact equality would reject files written by different tools.
const GEOMETRY_TOL_MM: f64 = 1e-3;

fn check_geometry<T, U>(
    img: &Volume<T>,
    img_path: &Path,
    other: &Volume<U>,
    other_path: &Path,
) -> Result<(), DataError> {
    if img.shape() != other.shape() {
        return Err(DataError::invalid(
            other_path,
            format!(
                "shape {:?} differs from the image's {:?} ({})",
                other.shape(),
                img.shape(),
                img_path.display()
            ),
        ));
    }
    if !img.same_geometry(other, GEOMETRY_TOL_MM) {
        return Err(DataError::invalid(
            other_path,
            format!(
                "affine differs from the image's ({}); the two do not cover the same space",
                img_path.display()
            ),
        ));
    }
    Ok(())
}

/// A case's image and binary GTV mask on the image's grid, whatever the layout.
fn read_case(
    kind: LayoutKind,
    case: &Case,
    cfg: &PrepareConfig,
) -> Result<(Volume<f32>, Volume<u8>), DataError> {
    if kind == LayoutKind::Dicom {
        // `read_series` gives the voxels and affine dcm2niix + read_nifti would, and the ROI is
        // rasterised on exactly that grid (1 inside), so from here on the case is a NIfTI case
        // whose label map holds the GTV as label 1.
        let (img, series) = mtsa_dicom::read_series(&case.image, None)?;
        let mask = mtsa_dicom::read_rtstruct(&case.label, &cfg.roi, &series, &img)?;
        check_geometry(&img, &case.image, &mask, &case.label)?;
        return Ok((img, mask));
    }
    let img = read_nifti(&case.image)?;
    let labels = read_nifti_labels(&case.label)?;
    check_geometry(&img, &case.image, &labels, &case.label)?;
    let mask = gtv_mask(&labels, cfg, &case.label)?;
    Ok((img, mask))
}

fn process_case(
    kind: LayoutKind,
    case: &Case,
    meta: &Meta,
    cfg: &PrepareConfig,
) -> Result<PatientSlices, DataError> {
    let (img, mask) = read_case(kind, case, cfg)?;
    let brain = match &case.brain {
        Some(path) => {
            let b = read_nifti_labels(path)?;
            check_geometry(&img, &case.image, &b, path)?;
            Some(b.map(|&v| u8::from(v != 0)))
        }
        None => None,
    };
    let norm =
        normalise(&img, brain.as_ref(), &cfg.preprocess()).map_err(|e| e.in_file(&case.image))?;
    drop(img);
    let geom = &norm.geom;
    let canonical_mask = geom.reorientation.apply(&mask).data;
    let taps_img = norm.taps();
    let taps_mask = geom.map().forward_taps(crate::resample::Tap::nearest);
    let pixel = geom.pixel_mm();
    let mut out = PatientSlices {
        images: Vec::new(),
        masks: Vec::new(),
        records: Vec::new(),
    };
    let mut has_gtv = vec![false; geom.n_slices()];
    ndarray::Zip::indexed(&canonical_mask).for_each(|(_, _, k), &v| has_gtv[k] |= v != 0);
    for k in (0..geom.n_slices()).filter(|&k| has_gtv[k]) {
        let m = resample_canonical_mask_slice(&canonical_mask, k, geom, &taps_mask);
        let area = m.iter().filter(|&&v| v != 0).count();
        // A sub-pixel lesion can vanish at the output resolution; such a slice would break the
        // "only slices with GTV" rule, so it is left out.
        if area == 0 {
            continue;
        }
        out.images.extend(norm.slice(k, &taps_img));
        out.masks.extend(m);
        out.records.push(SliceRecord {
            patient_id: case.id.clone(),
            site: meta.site.clone(),
            slice_index: k,
            spacing_mm: [pixel, pixel],
            slice_thickness_mm: geom.slice_thickness_mm,
            gtv_area_px: area,
            egfr: meta.egfr,
        });
    }
    Ok(out)
}
