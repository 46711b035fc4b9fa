//! Finding the cases of a cohort folder. Four layouts are accepted because real data arrives in
//! all of them: ours (`images/`, `labels/`, `clinical.csv`), nnU-Net raw (`imagesTr/<id>_0000`,
//! `labelsTr/`), one folder per case (BRATS) with the file names given by the user, and a
//! hospital DICOM export (`images/<id>/` series, `rtstruct/<id>.dcm` or `seg/<id>.dcm`).
//! Pairing problems are reported here, before any volume is read, so a bad cohort fails fast.

use crate::DataError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayoutKind {
    /// `images/<id>.nii.gz`, `labels/<id>.nii.gz`, optional `brainmasks/<id>.nii.gz`.
    Ours,
    /// `imagesTr/<id>_0000.nii.gz`, `labelsTr/<id>.nii.gz`, optional `brainmasks/<id>.nii.gz`
    /// (ours: nnU-Net itself has no brain-mask channel).
    NnUnet,
    /// `<id>/<image_name>`, `<id>/<label_name>`, optional `<id>/brainmask.nii[.gz]`.
    CaseFolders,
    /// `images/<id>/` (a DICOM MR series, or a study's export whose series the GTV object
    /// references, files in subfolders too), `rtstruct/<id>.dcm` (RT Structure Set on it) or
    /// `seg/<id>.dcm` (Segmentation), optional `brainmasks/<id>.nii.gz` (NIfTI on the grid the
    /// series is read on).
    Dicom,
}

/// One patient's files.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub id: String,
    /// The image file, or for `LayoutKind::Dicom` the folder holding the series.
    pub image: PathBuf,
    /// The label map, or for `LayoutKind::Dicom` the RT Structure Set.
    pub label: PathBuf,
    pub brain: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct CohortFiles {
    pub kind: LayoutKind,
    /// Sorted by id, so everything downstream is independent of directory listing order.
    pub cases: Vec<Case>,
    pub clinical: Option<PathBuf>,
}

/// Splits a NIfTI file name into its id (without `.nii.gz` or `.nii`); None for other files,
/// and for a name that is nothing but the extension.
pub fn nifti_stem(name: &str) -> Option<&str> {
    name.strip_suffix(".nii.gz")
        .or_else(|| name.strip_suffix(".nii"))
        .filter(|s| !s.is_empty())
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<(String, PathBuf)>, DataError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let entry = entry.map_err(|e| DataError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            out.push((name, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// NIfTI files of a folder by id (after `strip`), refusing two files for one id.
fn nifti_by_id(
    dir: &Path,
    strip: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, PathBuf>, DataError> {
    let mut out = BTreeMap::new();
    for (name, path) in read_dir_sorted(dir)? {
        let Some(id) = nifti_stem(&name).and_then(&strip) else {
            continue;
        };
        if let Some(prev) = out.insert(id.clone(), path.clone()) {
            return Err(DataError::invalid(
                &path,
                format!("duplicate id {id:?} (also {})", prev.display()),
            ));
        }
    }
    Ok(out)
}

/// Pairs images with labels by id; an id present on one side only is an error naming its file.
fn pair(
    images: BTreeMap<String, PathBuf>,
    mut labels: BTreeMap<String, PathBuf>,
    label_dir: &Path,
) -> Result<Vec<Case>, DataError> {
    let mut cases = Vec::with_capacity(images.len());
    for (id, image) in images {
        let label = labels.remove(&id).ok_or_else(|| {
            DataError::invalid(
                &image,
                format!("no label file for {id:?} in {}", label_dir.display()),
            )
        })?;
        cases.push(Case {
            id,
            image,
            label,
            brain: None,
        });
    }
    if let Some((id, label)) = labels.into_iter().next() {
        return Err(DataError::invalid(
            label,
            format!("label without an image (no image for {id:?})"),
        ));
    }
    Ok(cases)
}

/// Each case's brain mask, `brainmasks/<id>.nii.gz` (or `.nii`, on the case's image grid), when
/// the cohort has that folder ([`brain_masks_by_id`]); a case without one is read as it is.
fn attach_brain_masks(cohort: &Path, cases: &mut [Case]) -> Result<(), DataError> {
    let dir = cohort.join("brainmasks");
    if !dir.is_dir() {
        return Ok(());
    }
    let mut masks = brain_masks_by_id(&dir, cases.iter().map(|c| c.id.as_str()))?;
    for case in cases.iter_mut() {
        case.brain = masks.remove(&case.id);
    }
    Ok(())
}

/// The brain masks in `dir` (`<id>.nii.gz` or `.nii`; other files are passed over) by id, each
/// id one of the scans `ids` names. A mask that names no scan is an error naming its file, as a
/// label without an image is: a misspelt name would leave its scan unmasked. `prepare` reads a
/// cohort's `brainmasks/` so, and `predict` a batch's `--brain-masks` folder.
pub fn brain_masks_by_id<'a>(
    dir: &Path,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<BTreeMap<String, PathBuf>, DataError> {
    let masks = nifti_by_id(dir, |s| Some(s.to_string()))?;
    let ids: BTreeSet<&str> = ids.into_iter().collect();
    match masks.iter().find(|(id, _)| !ids.contains(id.as_str())) {
        Some((id, path)) => Err(DataError::invalid(
            path,
            format!(
                "brain mask {id:?} names no scan (a mask is `<id>.nii.gz`: its scan's file name \
                 without `.nii.gz`, or its series folder's name)"
            ),
        )),
        None => Ok(masks),
    }
}

/// Finds an optional file that may be stored plain or gzipped.
fn nifti_either(dir: &Path, stem: &str) -> Option<PathBuf> {
    [format!("{stem}.nii.gz"), format!("{stem}.nii")]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// Detects the layout and lists the cases. `image_name`/`label_name` select the case-folder
/// layout (both needed).
pub fn discover(
    cohort: &Path,
    image_name: Option<&str>,
    label_name: Option<&str>,
) -> Result<CohortFiles, DataError> {
    if !cohort.is_dir() {
        return Err(DataError::invalid(cohort, "cohort folder not found"));
    }
    let clinical = Some(cohort.join("clinical.csv")).filter(|p| p.is_file());
    let (kind, cases) = if let (Some(image_name), Some(label_name)) = (image_name, label_name) {
        (
            LayoutKind::CaseFolders,
            case_folders(cohort, image_name, label_name)?,
        )
    } else if image_name.is_some() || label_name.is_some() {
        return Err(DataError::Config(
            "the case-folder layout needs both image_name and label_name".into(),
        ));
    } else if let Some(objects) = dicom_label_folder(cohort)? {
        if cohort.join("labels").is_dir() {
            return Err(DataError::invalid(
                cohort,
                format!(
                    "both labels/ (NIfTI masks) and {objects}/ (DICOM objects) are present; keep \
                     only the one that belongs to images/"
                ),
            ));
        }
        let mut cases = dicom_cases(cohort, objects)?;
        attach_brain_masks(cohort, &mut cases)?;
        (LayoutKind::Dicom, cases)
    } else if cohort.join("images").is_dir() {
        let images = nifti_by_id(&cohort.join("images"), |s| Some(s.to_string()))?;
        let labels_dir = cohort.join("labels");
        if !labels_dir.is_dir() {
            return Err(DataError::invalid(&labels_dir, "labels folder not found"));
        }
        let labels = nifti_by_id(&labels_dir, |s| Some(s.to_string()))?;
        let mut cases = pair(images, labels, &labels_dir)?;
        attach_brain_masks(cohort, &mut cases)?;
        (LayoutKind::Ours, cases)
    } else if cohort.join("imagesTr").is_dir() {
        // Only channel 0000 (the T1-CE); other channels are ignored.
        let images = nifti_by_id(&cohort.join("imagesTr"), |s| {
            s.strip_suffix("_0000").map(str::to_string)
        })?;
        let labels_dir = cohort.join("labelsTr");
        if !labels_dir.is_dir() {
            return Err(DataError::invalid(&labels_dir, "labelsTr folder not found"));
        }
        let labels = nifti_by_id(&labels_dir, |s| Some(s.to_string()))?;
        let mut cases = pair(images, labels, &labels_dir)?;
        attach_brain_masks(cohort, &mut cases)?;
        (LayoutKind::NnUnet, cases)
    } else {
        let has_subdirs = read_dir_sorted(cohort)?.iter().any(|(_, p)| p.is_dir());
        let hint = if has_subdirs {
            "; for one folder per case give image_name and label_name (--image-name, --label-name)"
        } else {
            ""
        };
        return Err(DataError::invalid(
            cohort,
            format!("empty cohort: no images/ or imagesTr/ folder{hint}"),
        ));
    };
    if cases.is_empty() {
        return Err(DataError::invalid(cohort, "empty cohort: no cases found"));
    }
    Ok(CohortFiles {
        kind,
        cases,
        clinical,
    })
}

/// The folder of a DICOM cohort's GTV objects beside `images/`: `rtstruct/` (RT Structure
/// Sets) or `seg/` (Segmentations), not both; `None` when neither is there.
fn dicom_label_folder(cohort: &Path) -> Result<Option<&'static str>, DataError> {
    if !cohort.join("images").is_dir() {
        return Ok(None);
    }
    match (
        cohort.join("rtstruct").is_dir(),
        cohort.join("seg").is_dir(),
    ) {
        (true, true) => Err(DataError::invalid(
            cohort,
            "both rtstruct/ and seg/ are present; keep the one that holds the GTVs",
        )),
        (true, false) => Ok(Some("rtstruct")),
        (false, true) => Ok(Some("seg")),
        (false, false) => Ok(None),
    }
}

/// DICOM layout: every folder in `images/` is a patient (its name the id) and needs
/// `<objects>/<id>.dcm` (an RT Structure Set in `rtstruct/`, a Segmentation in `seg/`); an
/// object without a series folder is an error too, since it usually means a misnamed folder.
/// The folders' content is checked when the series is read.
fn dicom_cases(cohort: &Path, objects: &str) -> Result<Vec<Case>, DataError> {
    let (images_dir, label_dir) = (cohort.join("images"), cohort.join(objects));
    let what = if objects == "seg" {
        "Segmentation"
    } else {
        "RT Structure Set"
    };
    let mut cases = Vec::new();
    for (id, dir) in read_dir_sorted(&images_dir)? {
        if !dir.is_dir() {
            continue; // e.g. a DICOMDIR or notes beside the patient folders
        }
        let label = label_dir.join(format!("{id}.dcm"));
        if !label.is_file() {
            return Err(DataError::invalid(
                &label,
                format!("{what} not found for the series in {}", dir.display()),
            ));
        }
        cases.push(Case {
            id,
            image: dir,
            label,
            brain: None,
        });
    }
    for (name, path) in read_dir_sorted(&label_dir)? {
        let Some(id) = name.strip_suffix(".dcm") else {
            continue;
        };
        if !cases.iter().any(|c| c.id == id) {
            return Err(DataError::invalid(
                &path,
                format!(
                    "{what} without an image series (no folder {})",
                    images_dir.join(id).display()
                ),
            ));
        }
    }
    Ok(cases)
}

fn case_folders(cohort: &Path, image_name: &str, label_name: &str) -> Result<Vec<Case>, DataError> {
    let mut cases = Vec::new();
    for (id, dir) in read_dir_sorted(cohort)? {
        if !dir.is_dir() {
            continue;
        }
        let (image, label) = (dir.join(image_name), dir.join(label_name));
        match (image.is_file(), label.is_file()) {
            (true, true) => cases.push(Case {
                id,
                image,
                label,
                brain: nifti_either(&dir, "brainmask"),
            }),
            (true, false) => {
                return Err(DataError::invalid(&label, "label file not found"));
            }
            (false, true) => {
                return Err(DataError::invalid(&image, "image file not found"));
            }
            (false, false) => {} // not a case folder (e.g. documentation)
        }
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems() {
        assert_eq!(nifti_stem("a.nii.gz"), Some("a"));
        assert_eq!(nifti_stem("a.nii"), Some("a"));
        assert_eq!(nifti_stem("a.txt"), None);
        assert_eq!(nifti_stem(".nii"), None);
    }
}
