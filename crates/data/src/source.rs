//! A patient's source files as `prepare` saw them, and reading its whole volumes back. Whole-scan
//! evaluation runs `predict`'s code on the very scans that were prepared; storing every brain
//! slice of every patient instead would multiply the dataset's size, so the dataset records
//! where each scan lies and a hash of its bytes, and refuses a scan that has changed since (or
//! while it is read: the files are hashed before and after decoding).

use crate::case_volumes::{read_case, CaseScan, LabelRules};
use crate::dataset::{DatasetInfo, SourceFiles};
use crate::layout::{Case, LayoutKind};
use crate::DataError;
use mtsa_io::Volume;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Reads a case's image and mask together with where they lie (relative to the cohort) and the
/// hash of the bytes they were decoded from. The files are hashed before and after decoding, and
/// a case whose files changed in between is refused: otherwise a file rewritten while `prepare`
/// read it would be recorded with a hash of other bytes than those its slices came from.
pub(crate) fn read_source(
    cohort: &Path,
    kind: LayoutKind,
    case: &Case,
    rules: &LabelRules,
) -> Result<(SourceFiles, CaseScan), DataError> {
    let rel = |p: &Path| {
        p.strip_prefix(cohort)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    let (sha256, volumes) = read_unchanged(kind, case, || read_case(kind, case, rules))?;
    let files = SourceFiles {
        image: rel(&case.image),
        label: rel(&case.label),
        brain: case.brain.as_deref().map(rel),
        sha256,
        rois: volumes.gtv_names.clone(),
        series_uid: volumes
            .series
            .as_ref()
            .map(|s| s.series_instance_uid.clone()),
        series_description: volumes
            .series
            .as_ref()
            .map(|s| s.series_description.clone())
            .filter(|d| !d.is_empty()),
    };
    Ok((files, volumes))
}

/// `read` (the case's decoding) between two hashes of the case's files; the hash, or an error
/// naming the image when the files changed while they were read.
fn read_unchanged<T>(
    kind: LayoutKind,
    case: &Case,
    read: impl FnOnce() -> Result<T, DataError>,
) -> Result<(String, T), DataError> {
    let before = source_hash(kind, case)?;
    let volumes = read()?;
    if source_hash(kind, case)? != before {
        return Err(DataError::invalid(
            &case.image,
            "scan or label changed while it was being read; read it again once it is complete",
        ));
    }
    Ok((before, volumes))
}

/// sha256 over the image file (or, for DICOM, every file of the series folder and its
/// subfolders in path order, named by their path in it),
/// then the label file and the brain mask if the case has one: for each, its name, a zero byte,
/// its length (u64 LE) and its bytes. A case without a brain mask hashes as before masks were
/// recorded, so older datasets still verify.
fn source_hash(kind: LayoutKind, case: &Case) -> Result<String, DataError> {
    let (image, label) = (case.image.as_path(), case.label.as_path());
    let file_name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let mut files: Vec<(String, PathBuf)> = if kind == LayoutKind::Dicom {
        // Named relative to the folder, `/`-separated: for a flat folder its file names, as
        // before nested folders were read.
        mtsa_dicom::folder_files(image)?
            .into_iter()
            .map(|p| {
                let relative = p.strip_prefix(image).unwrap_or(&p);
                let parts: Vec<_> = relative.iter().map(|c| c.to_string_lossy()).collect();
                (parts.join("/"), p)
            })
            .collect()
    } else {
        vec![(file_name(image), image.to_path_buf())]
    };
    files.push((file_name(label), label.to_path_buf()));
    files.extend(case.brain.iter().map(|b| (file_name(b), b.clone())));
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    for (name, path) in &files {
        let mut f = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
        let len = f.metadata().map_err(|e| DataError::io(path, e))?.len();
        h.update(name.as_bytes());
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

/// Reads patient `id`'s whole image (zero outside its brain mask when it has one) and binary GTV
/// mask back from the cohort the dataset was prepared from, exactly as `prepare` read them.
/// Fails if the cohort has moved or the files changed since (their hash differs).
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
        brain: patient.source.brain.as_ref().map(|b| cohort.join(b)),
    };
    if !case.image.exists() {
        return Err(DataError::invalid(
            &case.image,
            "the prepared patient's scan is no longer here (the cohort was moved or deleted); \
             whole-scan evaluation reads the scans back from the cohort",
        ));
    }
    let (actual, scan) = read_unchanged(info.layout, &case, || {
        read_case(info.layout, &case, &info.labels)
    })?;
    if actual != patient.source.sha256 {
        return Err(DataError::invalid(
            &case.image,
            "scan or label changed since `prepare` (hash differs); prepare the cohort again",
        ));
    }
    Ok((scan.image, scan.gtv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_rewritten_while_it_is_read_is_refused() -> Result<(), DataError> {
        let dir = tempfile::tempdir().map_err(|e| DataError::io(Path::new("tmp"), e))?;
        let case = Case {
            id: "p".into(),
            image: dir.path().join("p.nii.gz"),
            label: dir.path().join("p_label.nii.gz"),
            brain: None,
        };
        for (path, bytes) in [(&case.image, b"image"), (&case.label, b"label")] {
            std::fs::write(path, bytes).map_err(|e| DataError::io(path, e))?;
        }
        let (hash, ()) = read_unchanged(LayoutKind::Ours, &case, || Ok(()))?;
        assert_eq!(hash, source_hash(LayoutKind::Ours, &case)?);
        let err = read_unchanged(LayoutKind::Ours, &case, || {
            std::fs::write(&case.label, b"other").map_err(|e| DataError::io(&case.label, e))
        })
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            err.contains("p.nii.gz") && err.contains("changed while"),
            "{err}"
        );
        Ok(())
    }
}
