//! A patient's source files as `prepare` saw them, and reading its whole volumes back. Whole-scan
//! evaluation runs `predict`'s code on the very scans that were prepared; storing every brain
//! slice of every patient instead would multiply the dataset's size, so the dataset records
//! where each scan lies and a hash of its bytes, and refuses a scan that has changed since.

use crate::case_volumes::{read_case, LabelRules};
use crate::dataset::{DatasetInfo, SourceFiles};
use crate::layout::{Case, LayoutKind};
use crate::DataError;
use mtsa_io::Volume;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The case's files relative to the cohort, with their hash.
pub(crate) fn source_files(
    cohort: &Path,
    kind: LayoutKind,
    case: &Case,
) -> Result<SourceFiles, DataError> {
    let rel = |p: &Path| {
        p.strip_prefix(cohort)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    Ok(SourceFiles {
        image: rel(&case.image),
        label: rel(&case.label),
        sha256: source_hash(kind, &case.image, &case.label)?,
    })
}

/// sha256 over the image file (or, for DICOM, every file of the series folder in name order)
/// and then the label file: for each, its name, a zero byte, its length (u64 LE) and its bytes.
fn source_hash(kind: LayoutKind, image: &Path, label: &Path) -> Result<String, DataError> {
    let mut files: Vec<PathBuf> = if kind == LayoutKind::Dicom {
        let mut v = Vec::new();
        for entry in std::fs::read_dir(image).map_err(|e| DataError::io(image, e))? {
            let path = entry.map_err(|e| DataError::io(image, e))?.path();
            if path.is_file() {
                v.push(path);
            }
        }
        v.sort();
        v
    } else {
        vec![image.to_path_buf()]
    };
    files.push(label.to_path_buf());
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    for path in &files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let mut f = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
        let len = f.metadata().map_err(|e| DataError::io(path, e))?.len();
        h.update(name.unwrap_or_default().as_bytes());
        h.update([0u8]);
        h.update(len.to_le_bytes());
        loop {
            let n = f.read(&mut buf).map_err(|e| DataError::io(path, e))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Reads patient `id`'s whole image and binary GTV mask back from the cohort the dataset was
/// prepared from, exactly as `prepare` read them. Fails if the cohort has moved or the files
/// changed since (their hash differs).
pub fn read_patient(info: &DatasetInfo, id: &str) -> Result<(Volume<f32>, Volume<u8>), DataError> {
    let patient = info
        .patients
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| DataError::Config(format!("patient {id:?} is not in the dataset")))?;
    let cohort = Path::new(&info.cohort);
    let case = Case {
        id: id.to_string(),
        image: cohort.join(&patient.source.image),
        label: cohort.join(&patient.source.label),
        brain: None,
    };
    if !case.image.exists() {
        return Err(DataError::invalid(
            &case.image,
            "the prepared patient's scan is no longer here (the cohort was moved or deleted); \
             whole-scan evaluation reads the scans back from the cohort",
        ));
    }
    let actual = source_hash(info.layout, &case.image, &case.label)?;
    if actual != patient.source.sha256 {
        return Err(DataError::invalid(
            &case.image,
            "scan or label changed since `prepare` (hash differs); prepare the cohort again",
        ));
    }
    let rules = LabelRules {
        gtv_labels: info.gtv_labels.clone(),
        ignore_labels: info.ignore_labels.clone(),
        roi: info.roi.clone(),
    };
    read_case(info.layout, &case, &rules)
}
