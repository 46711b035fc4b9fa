//! `mtsa prepare`: cohort folder in, compact dataset out. Everything that can be checked without
//! reading volumes (layout, clinical table, split) is checked first; volumes are then processed
//! in parallel, and the dataset is built in a temporary folder that only becomes visible when
//! complete, so an error anywhere leaves nothing behind.

use crate::case_volumes::LabelRules;
use crate::clinical::{read_clinical, ClinicalRecord};
use crate::dataset::{
    compute_data_hash, info_path, write_split, DatasetInfo, PatientInfo, SliceRecord, SourceFiles,
    SplitCount, SplitData, FORMAT_VERSION,
};
use crate::layout::{discover, Case, CohortFiles, LayoutKind};
use crate::preprocess::{normalise, resample_canonical_mask_slice, PreprocessConfig};
use crate::source::read_source;
use crate::split::{assign_by_date, assign_from_file, internal_site, SplitInput};
use crate::DataError;
use chrono::NaiveDate;
use mtsa_io::AtomicDir;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Which mask labels, or which structure-set ROI, make up the GTV.
    pub labels: LabelRules,
    /// JSON `{"train": [ids], ...}` that replaces the date-based split.
    pub splits_file: Option<PathBuf>,
    /// Case-folder layout: image and label file names inside each case folder.
    pub image_name: Option<String>,
    pub label_name: Option<String>,
    /// Lesion-free brain slices stored per training patient [ours; 0 = the paper's protocol,
    /// which keeps only slices with GTV]. A network that never sees a slice without a lesion
    /// finds one on every slice of a whole scan.
    pub background_slices: usize,
    /// Neighbouring slices stored per side of every slice [ours; 0 = the paper's 2-D input],
    /// for networks that see them as extra channels (2.5-D): a vessel runs on through the
    /// neighbours, a small metastasis ends.
    pub context_slices: usize,
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
            labels: LabelRules::default(),
            splits_file: None,
            image_name: None,
            label_name: None,
            background_slices: 0,
            context_slices: 0,
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

    /// Checked by [`prepare`], and by callers (the demo) before any work.
    pub fn validate(&self) -> Result<(), DataError> {
        self.preprocess().validate()?;
        let LabelRules {
            gtv_labels,
            ignore_labels,
            roi,
        } = &self.labels;
        if gtv_labels.is_empty() || gtv_labels.contains(&0) {
            return Err(DataError::Config(
                "GTV labels must be a non-empty list of labels other than 0".into(),
            ));
        }
        if let Some(l) = ignore_labels.iter().find(|l| gtv_labels.contains(l)) {
            return Err(DataError::Config(format!(
                "label {l} is both a GTV label and an ignored label"
            )));
        }
        if roi.trim().is_empty() {
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
    /// Per record, its neighbouring slices (`SplitData::context`).
    context: Vec<f32>,
    /// Of `records`, how many are lesion-free.
    background: usize,
    source: SourceFiles,
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
    // Only training patients get lesion-free slices: validation and test are scored on GTV
    // slices (the paper's table) and on whole volumes read back from the cohort.
    let background: Vec<usize> = files
        .cases
        .iter()
        .map(|c| {
            if assignment.get(&c.id).is_some_and(|s| s == "train") {
                cfg.background_slices
            } else {
                0
            }
        })
        .collect();
    let results = process_all(cohort, &files, &metas, &background, cfg, progress)?;

    let mut splits: BTreeMap<String, SplitData> = BTreeMap::new();
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut patients = Vec::with_capacity(files.cases.len());
    for ((case, meta), slices) in files.cases.iter().zip(&metas).zip(results) {
        let split = assignment
            .get(&case.id)
            .cloned()
            .ok_or_else(|| DataError::Config(format!("patient {} has no split", case.id)))?;
        if slices.records.len() == slices.background {
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
            n_slices: slices.records.len() - slices.background,
            background_slices: slices.background,
            source: slices.source.clone(),
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
            .or_insert_with(|| SplitData::new(cfg.size, cfg.context_slices));
        data.images.extend(slices.images);
        data.masks.extend(slices.masks);
        data.context.extend(slices.context);
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
        labels: cfg.labels.clone(),
        cutoff: by_date.then_some(cfg.cutoff),
        val_patients: by_date.then_some(cfg.val_patients),
        seed: by_date.then_some(cfg.seed),
        splits_file: cfg.splits_file.as_ref().map(|p| p.display().to_string()),
        internal_site: internal,
        has_truth,
        image_name: cfg.image_name.clone(),
        label_name: cfg.label_name.clone(),
        background_slices: cfg.background_slices,
        context_slices: cfg.context_slices,
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

/// Processes every case on a rayon pool of `cfg.threads` workers (0: one per core); results
/// come back in case order. After a failure the remaining cases are skipped, and the failure
/// of the lowest case index is returned, so the message does not depend on timing more than it
/// must. Progress is reported from the calling thread (the callback need not be `Sync`).
fn process_all(
    cohort: &Path,
    files: &CohortFiles,
    metas: &[Meta],
    background: &[usize],
    cfg: &PrepareConfig,
    progress: &dyn Fn(usize, usize),
) -> Result<Vec<PatientSlices>, DataError> {
    let cases = &files.cases;
    let total = cases.len();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads)
        .build()
        .map_err(|e| DataError::Config(format!("cannot start the worker threads: {e}")))?;
    let abort = AtomicBool::new(false);
    progress(0, total);
    let results: Vec<Option<Result<PatientSlices, DataError>>> = std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<()>();
        let abort = &abort;
        let work = scope.spawn(move || {
            pool.install(|| {
                (0..total)
                    .into_par_iter()
                    .map_with(tx, |tx, i| {
                        if abort.load(Ordering::Relaxed) {
                            return None;
                        }
                        let r = process_case(
                            cohort,
                            files.kind,
                            &cases[i],
                            &metas[i],
                            cfg,
                            background[i],
                        );
                        if r.is_err() {
                            abort.store(true, Ordering::Relaxed);
                        }
                        let _ = tx.send(());
                        Some(r)
                    })
                    .collect()
            })
        });
        // The sender lives in the pool's closures: the loop ends when the work does.
        for (done, ()) in rx.into_iter().enumerate() {
            progress(done + 1, total);
        }
        work.join()
    })
    .map_err(|_| DataError::Config("a worker thread panicked".into()))?;
    let mut slices = Vec::with_capacity(total);
    let mut skipped = None;
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Some(Ok(s)) => slices.push(s),
            Some(Err(e)) => return Err(e),
            None => {
                skipped.get_or_insert(i);
            }
        }
    }
    match skipped {
        Some(i) => Err(DataError::Config(format!(
            "case {} was not processed",
            cases[i].id
        ))),
        None => Ok(slices),
    }
}

/// One case's stored slices: every slice with GTV, plus `background` lesion-free brain slices
/// spread evenly from the lowest to the highest brain slice (the top and bottom of the brain,
/// where vessels and the skull base look most like enhancing lesions, are included).
fn process_case(
    cohort: &Path,
    kind: LayoutKind,
    case: &Case,
    meta: &Meta,
    cfg: &PrepareConfig,
    background: usize,
) -> Result<PatientSlices, DataError> {
    let (source, scan) = read_source(cohort, kind, case, &cfg.labels)?;
    if source.rois.len() > 1 {
        tracing::info!(
            "{}: the GTV is the union of {}",
            case.label.display(),
            source.rois.join(", ")
        );
    }
    let (img, mask) = (scan.image, scan.gtv);
    let norm = normalise(&img, scan.brain.as_ref(), &cfg.preprocess())
        .map_err(|e| e.in_file(&case.image))?;
    for warning in norm.geom.field_of_view_warnings() {
        tracing::warn!("{}: {warning}", case.image.display());
    }
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
        context: Vec::new(),
        background: 0,
        source,
    };
    let mut has_gtv = vec![false; geom.n_slices()];
    ndarray::Zip::indexed(&canonical_mask).for_each(|(_, _, k), &v| has_gtv[k] |= v != 0);
    let free: Vec<usize> = geom
        .brain_slices
        .iter()
        .copied()
        .filter(|&k| !has_gtv[k])
        .collect();
    let n_bg = background.min(free.len());
    let picked: Vec<usize> = (0..n_bg)
        .map(|i| free[((2 * i + 1) * free.len()) / (2 * n_bg)])
        .collect();
    let mut ks: Vec<usize> = (0..geom.n_slices())
        .filter(|&k| has_gtv[k])
        .chain(picked)
        .collect();
    ks.sort_unstable();
    for k in ks {
        let m = resample_canonical_mask_slice(&canonical_mask, k, geom, &taps_mask);
        let area = m.iter().filter(|&&v| v != 0).count();
        // A sub-pixel lesion can vanish at the output resolution; such a slice is neither a GTV
        // slice nor a clean background slice, so it is left out.
        if area == 0 && has_gtv[k] {
            continue;
        }
        out.background += usize::from(area == 0);
        out.images.extend(norm.slice(k, &taps_img));
        for j in crate::preprocess::neighbour_slices(k, cfg.context_slices, geom.n_slices()) {
            out.context.extend(norm.slice(j, &taps_img));
        }
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
