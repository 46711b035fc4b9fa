//! The prepared dataset on disk, and loading it back for training and evaluation.
//!
//! Layout of a dataset folder:
//! - `dataset.json`: `DatasetInfo` (format version, preprocessing, patients, split counts,
//!   `data_hash`).
//! - `splits.json`: `{"train": [ids], "val": [ids], ...}`, the patient-level split.
//! - `<split>.safetensors`: tensors `image` (F32, `[N, S, S]`, in `[0, 1]`) and `mask`
//!   (U8, `[N, S, S]`, 1 = GTV), slice `n` of both being the same slice; with
//!   `prepare --context-slices r`, also `context` (F32, `[N, 2r, S, S]`): the `r` slices below
//!   and the `r` above slice `n` (nearest existing slice at the volume's ends), for 2-D networks
//!   that take neighbouring slices as extra input channels (2.5-D).
//! - `<split>.slices.json`: JSON array of `N` `SliceRecord`s, in tensor order.
//! - `truth.json`: copied from synthetic cohorts, when present.
//!
//! One file per split (instead of one per slice) keeps loading to a single read, and safetensors
//! is readable from Python (`safetensors.numpy.load_file`) for cross-checks.

use crate::case_volumes::LabelRules;
use crate::{DataError, LayoutKind, PreprocessConfig};
use chrono::NaiveDate;
use safetensors::tensor::{Dtype, SafeTensors, View};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Bumped whenever a reader of an older dataset would misread it.
/// Version 2: training splits may hold lesion-free brain slices (`gtv_area_px == 0`), and
/// patients record their source files so whole volumes can be read back.
pub const FORMAT_VERSION: u32 = 2;

/// Per-slice facts the trainer and the metrics need alongside the pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceRecord {
    pub patient_id: String,
    pub site: String,
    /// Canonical (RAS) axial index `k` in the patient's volume.
    pub slice_index: usize,
    /// Pixel spacing (rows, columns) in mm after resampling, for HD95.
    pub spacing_mm: [f64; 2],
    pub slice_thickness_mm: f64,
    /// GTV pixels of the resampled mask. 0 marks a lesion-free brain slice, stored (in `train`
    /// only, when `prepare --background-slices` asks for them) so the network also learns what
    /// no lesion looks like; the paper's protocol and every slice-level score use only slices
    /// with GTV ([`SplitData::gtv_only`]).
    pub gtv_area_px: usize,
    /// 1 = EGFR mutant, 0 = wild type, None = unknown.
    pub egfr: Option<u8>,
}

/// One split in memory: slice `n` is `images[n*S*S..(n+1)*S*S]`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitData {
    pub size: usize,
    pub images: Vec<f32>,
    pub masks: Vec<u8>,
    pub slices: Vec<SliceRecord>,
    /// Neighbouring slices per side stored in `context` (0: none).
    pub context_slices: usize,
    /// Per slice, its `2 * context_slices` neighbours (below, then above), each S x S.
    pub context: Vec<f32>,
}

impl SplitData {
    pub fn new(size: usize, context_slices: usize) -> Self {
        Self {
            size,
            images: Vec::new(),
            masks: Vec::new(),
            slices: Vec::new(),
            context_slices,
            context: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.slices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slices.is_empty()
    }

    pub fn image(&self, n: usize) -> &[f32] {
        let p = self.size * self.size;
        &self.images[n * p..(n + 1) * p]
    }

    pub fn mask(&self, n: usize) -> &[u8] {
        let p = self.size * self.size;
        &self.masks[n * p..(n + 1) * p]
    }

    /// Slice `n`'s neighbours, `2 * context_slices` planes of S x S (empty without context).
    pub fn context(&self, n: usize) -> &[f32] {
        let p = 2 * self.context_slices * self.size * self.size;
        &self.context[n * p..(n + 1) * p]
    }

    /// Slice `n` as `2r + 1` network input channels of S x S, bottom to top: the `r` nearest
    /// neighbours below, the slice, the `r` nearest above (`mtsa_data::network_input`'s order).
    /// `None` when fewer than `r` neighbours per side were stored.
    pub fn input(&self, n: usize, r: usize) -> Option<Vec<f32>> {
        if r > self.context_slices {
            return None;
        }
        let plane = self.size * self.size;
        let stored = self.context_slices * plane;
        let ctx = self.context(n);
        let mut x = Vec::with_capacity((2 * r + 1) * plane);
        x.extend_from_slice(&ctx[stored - r * plane..stored]);
        x.extend_from_slice(self.image(n));
        x.extend_from_slice(&ctx[stored..stored + r * plane]);
        Some(x)
    }

    /// Slice `n` as a slice twice as thick would show it: a quarter of each nearest neighbour
    /// and half of the slice itself. When each stored slice is the mean over its own thickness
    /// (a scanner's slice profile; the synthetic sites' thick slices), that is the mean over a
    /// slab of two thicknesses centred on the slice, whose GTV is still the slice's own mask.
    /// `None` when no neighbours were stored.
    pub fn thick_slice(&self, n: usize) -> Option<Vec<f32>> {
        let x = self.input(n, 1)?;
        let plane = self.size * self.size;
        let (below, rest) = x.split_at(plane);
        let (centre, above) = rest.split_at(plane);
        Some(
            below
                .iter()
                .zip(centre)
                .zip(above)
                .map(|((b, c), a)| 0.25 * b + 0.5 * c + 0.25 * a)
                .collect(),
        )
    }

    /// The slices that hold GTV, in order: the paper's protocol (spec §4) on a split that may
    /// also hold lesion-free slices.
    pub fn gtv_only(&self) -> SplitData {
        let mut out = SplitData::new(self.size, self.context_slices);
        for (n, rec) in self.slices.iter().enumerate() {
            if rec.gtv_area_px > 0 {
                out.images.extend_from_slice(self.image(n));
                out.masks.extend_from_slice(self.mask(n));
                out.context.extend_from_slice(self.context(n));
                out.slices.push(rec.clone());
            }
        }
        out
    }
}

/// Where a patient's volumes came from, so `evaluate` can read the whole scan back and be sure
/// it is the one that was prepared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceFiles {
    /// Image file (or DICOM series folder), relative to the cohort folder.
    pub image: String,
    /// Label file (or RT Structure Set), relative to the cohort folder.
    pub label: String,
    /// Brain mask, relative to the cohort folder, when the case has one: the whole scan is read
    /// back zero outside it, as `prepare` read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brain: Option<String>,
    /// sha256 over the image's and the label's bytes (see `source_hash`).
    pub sha256: String,
    /// DICOM: the ROIs (or segments) of the label object whose union is the GTV, as `--roi`
    /// selected them; empty for label maps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rois: Vec<String>,
    /// DICOM: the Series Instance UID and Description of the series read from the image folder
    /// (the one its GTV object references, when the folder holds a whole study).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientInfo {
    pub id: String,
    pub site: String,
    pub split: String,
    pub egfr: Option<u8>,
    pub diagnosis_date: Option<NaiveDate>,
    /// Slices stored for this patient with a non-empty resampled GTV.
    pub n_slices: usize,
    /// Lesion-free brain slices stored for this patient (training split only).
    #[serde(default)]
    pub background_slices: usize,
    pub source: SourceFiles,
    /// Other clinical columns (age, sex, smoking, ...), verbatim.
    #[serde(default)]
    pub clinical: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitCount {
    pub patients: usize,
    pub slices: usize,
}

/// `dataset.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    pub format_version: u32,
    pub size: usize,
    /// Split names with a data file, sorted.
    pub splits: Vec<String>,
    pub counts: BTreeMap<String, SplitCount>,
    /// False for cohorts without any EGFR label (segmentation only).
    pub has_egfr: bool,
    /// sha256 over `splits.json` and every split's two files (see `compute_data_hash`), so a
    /// trained model can name exactly the data it saw.
    pub data_hash: String,
    pub preprocess: PreprocessConfig,
    pub patients: Vec<PatientInfo>,
    pub cohort: String,
    pub layout: LayoutKind,
    /// GTV and ignored labels, and for DICOM cohorts the GTV ROI's name (top-level keys).
    #[serde(flatten)]
    pub labels: LabelRules,
    /// How the split was made: by date (`cutoff`, `val_patients`, `seed`) or from `splits_file`.
    pub cutoff: Option<NaiveDate>,
    pub val_patients: Option<usize>,
    pub seed: Option<u64>,
    pub splits_file: Option<String>,
    pub internal_site: String,
    pub has_truth: bool,
    /// Case-folder cohorts: the file names inside each case, kept so whole volumes can be read
    /// back exactly as `prepare` read them.
    pub image_name: Option<String>,
    pub label_name: Option<String>,
    /// Lesion-free brain slices stored per training patient (0: the paper's protocol).
    pub background_slices: usize,
    /// Neighbouring slices stored per side of every slice (0: the paper's 2-D input).
    #[serde(default)]
    pub context_slices: usize,
}

pub fn info_path(dir: &Path) -> std::path::PathBuf {
    dir.join("dataset.json")
}

fn tensor_path(dir: &Path, split: &str) -> std::path::PathBuf {
    dir.join(format!("{split}.safetensors"))
}

fn slices_path(dir: &Path, split: &str) -> std::path::PathBuf {
    dir.join(format!("{split}.slices.json"))
}

pub fn read_info(dir: &Path) -> Result<DatasetInfo, DataError> {
    let path = info_path(dir);
    const MADE_BY: &str = "a prepared dataset (`mtsa prepare --out` makes one)";
    if !dir.is_dir() {
        return Err(DataError::invalid(
            dir,
            format!("no such folder; expected {MADE_BY}"),
        ));
    }
    if !path.is_file() {
        return Err(DataError::invalid(
            &path,
            format!("not found: this folder is not {MADE_BY}"),
        ));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| DataError::io(&path, e))?;
    let info: DatasetInfo = serde_json::from_str(&text)
        .map_err(|e| DataError::invalid(&path, format!("not a dataset description ({e})")))?;
    if info.format_version != FORMAT_VERSION {
        return Err(DataError::invalid(
            &path,
            format!(
                "dataset format version {} (this build reads {FORMAT_VERSION}); prepare it again",
                info.format_version
            ),
        ));
    }
    Ok(info)
}

/// An f32 tensor written little-endian, converted one tensor at a time while writing.
struct F32Tensor<'a> {
    data: &'a [f32],
    shape: Vec<usize>,
}

impl View for F32Tensor<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.data.iter().flat_map(|v| v.to_le_bytes()).collect())
    }
    fn data_len(&self) -> usize {
        self.data.len() * 4
    }
}

struct U8Tensor<'a> {
    data: &'a [u8],
    shape: Vec<usize>,
}

impl View for U8Tensor<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::U8
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// `serialize_to_file` takes one tensor type; this joins the two.
enum AnyTensor<'a> {
    F(F32Tensor<'a>),
    U(U8Tensor<'a>),
}

impl View for AnyTensor<'_> {
    fn dtype(&self) -> Dtype {
        match self {
            AnyTensor::F(t) => t.dtype(),
            AnyTensor::U(t) => t.dtype(),
        }
    }
    fn shape(&self) -> &[usize] {
        match self {
            AnyTensor::F(t) => t.shape(),
            AnyTensor::U(t) => t.shape(),
        }
    }
    fn data(&self) -> Cow<'_, [u8]> {
        match self {
            AnyTensor::F(t) => t.data(),
            AnyTensor::U(t) => t.data(),
        }
    }
    fn data_len(&self) -> usize {
        match self {
            AnyTensor::F(t) => t.data_len(),
            AnyTensor::U(t) => t.data_len(),
        }
    }
}

/// Writes `<split>.safetensors` and `<split>.slices.json` into `dir`.
pub fn write_split(dir: &Path, split: &str, data: &SplitData) -> Result<(), DataError> {
    let (n, s) = (data.len(), data.size);
    let shape = vec![n, s, s];
    let c = 2 * data.context_slices;
    if data.images.len() != n * s * s
        || data.masks.len() != n * s * s
        || data.context.len() != n * c * s * s
    {
        return Err(DataError::Config(format!(
            "split {split}: pixel buffers do not match {n} slices of {s} x {s}"
        )));
    }
    // A single metadata entry: safetensors stores the map as a HashMap, and several keys would
    // come out in random order, making identical datasets hash differently.
    let header = serde_json::json!({
        "format_version": FORMAT_VERSION,
        "split": split,
        "size": s,
        "slices": n,
    });
    let meta = HashMap::from([("mtsa-data".to_string(), header.to_string())]);
    let mut tensors = vec![
        (
            "image",
            AnyTensor::F(F32Tensor {
                data: &data.images,
                shape: shape.clone(),
            }),
        ),
        (
            "mask",
            AnyTensor::U(U8Tensor {
                data: &data.masks,
                shape,
            }),
        ),
    ];
    if c > 0 {
        tensors.push((
            "context",
            AnyTensor::F(F32Tensor {
                data: &data.context,
                shape: vec![n, c, s, s],
            }),
        ));
    }
    let path = tensor_path(dir, split);
    safetensors::serialize_to_file(tensors, Some(meta), &path)
        .map_err(|e| DataError::invalid(&path, format!("cannot write safetensors ({e})")))?;
    let path = slices_path(dir, split);
    let json =
        serde_json::to_vec(&data.slices).map_err(|e| DataError::invalid(&path, e.to_string()))?;
    std::fs::write(&path, json).map_err(|e| DataError::io(&path, e))
}

/// Loads one split. Checks dtypes, shapes and that the slice records match the tensors.
pub fn load_split(dir: &Path, split: &str) -> Result<SplitData, DataError> {
    if !valid_name(split) {
        return Err(DataError::Config(format!("invalid split name {split:?}")));
    }
    let path = tensor_path(dir, split);
    let bytes = std::fs::read(&path).map_err(|e| DataError::io(&path, e))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| DataError::invalid(&path, format!("not a safetensors file ({e})")))?;
    let tensor = |name: &str, dtype: Dtype| {
        let t = st
            .tensor(name)
            .map_err(|_| DataError::invalid(&path, format!("no tensor {name:?}")))?;
        if t.dtype() != dtype || t.shape().len() != 3 || t.shape()[1] != t.shape()[2] {
            return Err(DataError::invalid(
                &path,
                format!(
                    "tensor {name:?} is {:?} {:?}, expected {dtype:?} [N, S, S]",
                    t.dtype(),
                    t.shape()
                ),
            ));
        }
        Ok(t)
    };
    let image = tensor("image", Dtype::F32)?;
    let mask = tensor("mask", Dtype::U8)?;
    if image.shape() != mask.shape() {
        return Err(DataError::invalid(
            &path,
            format!(
                "image {:?} and mask {:?} shapes differ",
                image.shape(),
                mask.shape()
            ),
        ));
    }
    let (n, size) = (image.shape()[0], image.shape()[1]);
    let images: Vec<f32> = image
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let masks = mask.data().to_vec();
    let (context_slices, context) = match st.tensor("context") {
        Err(_) => (0, Vec::new()),
        Ok(t) => {
            let sh = t.shape();
            let fits = t.dtype() == Dtype::F32
                && sh.len() == 4
                && sh[0] == n
                && sh[1] % 2 == 0
                && sh[1] > 0
                && sh[2] == size
                && sh[3] == size;
            if !fits {
                return Err(DataError::invalid(
                    &path,
                    format!(
                        "tensor \"context\" is {:?} {sh:?}, expected F32 [{n}, 2r, {size}, {size}]",
                        t.dtype()
                    ),
                ));
            }
            let values = t
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (sh[1] / 2, values)
        }
    };

    let spath = slices_path(dir, split);
    let text = std::fs::read(&spath).map_err(|e| DataError::io(&spath, e))?;
    let slices: Vec<SliceRecord> = serde_json::from_slice(&text)
        .map_err(|e| DataError::invalid(&spath, format!("not a list of slice records ({e})")))?;
    if slices.len() != n {
        return Err(DataError::invalid(
            &spath,
            format!(
                "{} slice records for {n} slices in {}",
                slices.len(),
                path.display()
            ),
        ));
    }
    Ok(SplitData {
        size,
        images,
        masks,
        slices,
        context_slices,
        context,
    })
}

fn valid_name(split: &str) -> bool {
    crate::split::valid_split_name(split)
}

/// The files `data_hash` covers, in hashing order.
fn hashed_files(splits: &[String]) -> Vec<String> {
    let mut files = vec!["splits.json".to_string()];
    for s in splits {
        files.push(format!("{s}.safetensors"));
        files.push(format!("{s}.slices.json"));
    }
    files.sort();
    files
}

/// sha256 over, for each file in name order: the name, a zero byte, the length (u64 LE), and
/// the bytes. Names and lengths are included so moving bytes between files changes the hash.
pub fn compute_data_hash(dir: &Path, splits: &[String]) -> Result<String, DataError> {
    let mut h = Sha256::new();
    for name in hashed_files(splits) {
        let path = dir.join(&name);
        let bytes = std::fs::read(&path).map_err(|e| DataError::io(&path, e))?;
        h.update(name.as_bytes());
        h.update([0u8]);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Recomputes the hash and compares it with `dataset.json`: detects edited or corrupted data.
pub fn verify(dir: &Path) -> Result<DatasetInfo, DataError> {
    let info = read_info(dir)?;
    let actual = compute_data_hash(dir, &info.splits)?;
    if actual != info.data_hash {
        return Err(DataError::invalid(
            info_path(dir),
            format!(
                "data_hash {} does not match the files ({actual}); the dataset was modified",
                info.data_hash
            ),
        ));
    }
    Ok(info)
}
