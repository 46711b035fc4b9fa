//! Loading the agreement cases: the synthetic lesions shipped in `fixtures/synthetic`, and the
//! MNI152 and BRATS volumes read in place from `../shared/data` (never copied into the repo).

use std::path::{Path, PathBuf};

use mtsa_io::{read_nifti, read_nifti_labels, Volume};
use mtsa_radiomics::{Binning, Settings};
use serde_json::Value;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn shared_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// BRATS labels that form the tumour core used as the ROI (all but oedema).
const BRATS_CORE: [u16; 3] = [1, 3, 4];

/// Image and mask of a reference case, or `None` (with the reason) if its data is absent.
pub fn load_case(case: &str) -> Result<(Volume<f32>, Volume<u16>), String> {
    let read = |p: PathBuf| read_nifti(&p).map_err(|e| e.to_string());
    let labels = |p: PathBuf| read_nifti_labels(&p).map_err(|e| e.to_string());
    let syn = fixtures().join("synthetic");
    let synthetic = |stem: &str| -> Result<_, String> {
        Ok((
            read(syn.join(format!("{stem}_image.nii.gz")))?,
            labels(syn.join(format!("{stem}_mask.nii.gz")))?,
        ))
    };
    let data = shared_data();
    match case {
        "syn_ellipsoid" => synthetic("ellipsoid"),
        "syn_aniso_two_lesions" => synthetic("aniso"),
        "syn_single_slice" => synthetic("slice"),
        "syn_lumpy_float" => synthetic("lumpy"),
        "ibsi_phantom" => synthetic("ibsi_phantom"),
        "mni_sphere" => {
            let t1 = data.join("mni152-2009a/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz");
            if !t1.is_file() {
                return Err(format!("{} not found", t1.display()));
            }
            let image = read(t1)?;
            // The same sphere as regenerate.py's mni_sphere_mask (voxel indices i, j, k).
            let mask = image.map(|_| 0u16);
            let mut mask = mask;
            for ((i, j, k), v) in mask.data.indexed_iter_mut() {
                let d = ((i as f64 - 120.0) / 9.0).powi(2)
                    + ((j as f64 - 130.0) / 11.0).powi(2)
                    + ((k as f64 - 80.0) / 8.0).powi(2);
                *v = u16::from(d <= 1.0);
            }
            Ok((image, mask))
        }
        brats => {
            let dir = data.join("brats2013-glioma").join(brats);
            if !dir.is_dir() {
                return Err(format!("{} not found", dir.display()));
            }
            let image = read(dir.join("T1c_subtrMeanDivStd.nii.gz"))?;
            let mask =
                labels(dir.join("OTMultiClass.nii.gz"))?.map(|l| u16::from(BRATS_CORE.contains(l)));
            Ok((image, mask))
        }
    }
}

/// Our settings for a PyRadiomics settings object of the fixture.
#[allow(dead_code)] // used by pyradiomics_agreement, not by ibsi_phantom
pub fn settings(py: &Value) -> Settings {
    let mut s = Settings::default();
    if let Some(w) = py.get("binWidth").and_then(Value::as_f64) {
        s.binning = Binning::Width(w);
    }
    if let Some(c) = py.get("binCount").and_then(Value::as_u64) {
        s.binning = Binning::Count(c as usize);
    }
    if py.get("normalize").and_then(Value::as_bool) == Some(true) {
        s.normalize_scale = Some(
            py.get("normalizeScale")
                .and_then(Value::as_f64)
                .unwrap_or(1.0),
        );
    }
    if let Some(r) = py.get("resampledPixelSpacing").and_then(Value::as_array) {
        let v: Vec<f64> = r.iter().filter_map(Value::as_f64).collect();
        s.resampled_spacing = Some([v[0], v[1], v[2]]);
    }
    s
}
