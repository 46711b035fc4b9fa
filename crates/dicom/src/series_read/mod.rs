//! Reading an image series from a folder into a `Volume<f32>` that matches, voxel for voxel and
//! affine for affine, what dcm2niix + `mtsa_io::read_nifti` give for the same files.
//!
//! Slices are ordered by their Image Position projected on the slice normal, never by Instance
//! Number, which scanners and anonymisers renumber freely; the slice spacing comes from those
//! positions because Slice Thickness may differ from it (gaps or overlaps).
//!
//! Voxel order follows dcm2niix: `i` = column, `j` = row from the last, `k` = along the normal
//! (see `geometry`); for MR Acquisition Type "3D" the volume is then reoriented to the nearest
//! RAS orientation exactly as dcm2niix does (see `ortho`).
//!
//! A multi-frame (enhanced) image, as scanners export Enhanced MR or a converter writes Legacy
//! Converted Enhanced MR, is read as one slice per frame: each frame's position, orientation,
//! pixel spacing and rescale come from its functional groups (PS3.3 C.7.6.16), per-frame first,
//! then shared, and the frames are then stacked exactly as single-frame files are.

mod encapsulated;
mod header;
mod pixels;

pub(crate) use pixels::decode_pixels;

use crate::bounded::check_declared_lengths;
use crate::dataset::{opt_str, req_str, Obj};
use crate::folder::{folder_files, folder_of};
use crate::geometry::{cross, dot, norm, scale, sub, Stack, V3};
use crate::names::NameSelector;
use crate::ortho::dcm2niix_ortho;
use crate::{DicomError, SeriesRef};
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::{FileDicomObject, OpenFileOptions};
use header::{slice_headers, SliceHeader};
use mtsa_io::{spacing_problem, Volume, MAX_VOLUME_BYTES};
use ndarray::Array3;
use pixels::read_frames;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Modalities of objects that may share a folder with the images but are not slices of them.
const NON_IMAGE_MODALITIES: &[&str] = &[
    "RTSTRUCT", "RTPLAN", "RTDOSE", "RTRECORD", "SR", "PR", "KO", "REG", "SEG", "DOC", "RWV",
];
const DICOMDIR_SOP_CLASS: &str = "1.2.840.10008.1.3.10";
/// How many series an error about choosing one lists before counting the rest.
const MAX_SERIES_LISTED: usize = 12;

/// Which series of a folder to read.
enum Choice<'a> {
    /// The one with this Series Instance UID, or with `None` the only one.
    Uid(Option<&'a str>),
    /// The only one, or among several the one the GTV object `object` references (`series`).
    DrawnOn {
        object: &'a Path,
        series: Vec<String>,
    },
    /// The one whose Series Description matches (as ROI names are matched).
    Described(NameSelector),
}

/// Reads the image series in `dir` (files in it and its subfolders, as a PACS or CD export nests
/// them; non-DICOM files, DICOMDIR and non-image objects such as an RTSTRUCT are skipped). With
/// several series present, `series_uid` must name one. Rescale slope/intercept are applied per
/// image.
pub fn read_series(
    dir: &Path,
    series_uid: Option<&str>,
) -> Result<(Volume<f32>, SeriesRef), DicomError> {
    read_chosen(dir, Choice::Uid(series_uid))
}

/// Reads the series in `dir` that the GTV object `object` was drawn on: the only image series
/// there, or among several the one of `referenced` (the series `object` references) that is
/// there ([`crate::read_drawn_case`]).
pub(crate) fn read_series_drawn_on(
    dir: &Path,
    object: &Path,
    referenced: Vec<String>,
) -> Result<(Volume<f32>, SeriesRef), DicomError> {
    read_chosen(
        dir,
        Choice::DrawnOn {
            object,
            series: referenced,
        },
    )
}

/// Reads the one series in `dir` whose Series Description matches `pattern` (case-insensitive,
/// `*` for any characters, several patterns comma-separated), e.g. `*T1*post*` to take the
/// contrast-enhanced T1 from every study of an archive exported whole. No match, or several,
/// is an error listing the series.
pub fn read_series_described(
    dir: &Path,
    pattern: &str,
) -> Result<(Volume<f32>, SeriesRef), DicomError> {
    read_chosen(dir, Choice::Described(NameSelector::parse(pattern)))
}

/// Reads the series the DICOM file `file` belongs to, from the folder it lies in (and that
/// folder's subfolders): what `predict --input` on one slice, or on an enhanced image's single
/// file, means.
pub fn read_series_containing(file: &Path) -> Result<(Volume<f32>, SeriesRef), DicomError> {
    check_declared_lengths(file)?;
    let obj = OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(file)
        .map_err(|e| DicomError::parse(file, e))?;
    if !is_image_object(&obj) {
        return Err(DicomError::invalid(
            file,
            "not an image (a structure set, report or DICOMDIR?)",
        ));
    }
    let uid = req_str(&obj, tags::SERIES_INSTANCE_UID, "Series Instance UID", file)?;
    read_chosen(folder_of(file), Choice::Uid(Some(&uid)))
}

/// Whether `path` is a file in the DICOM file format (a 128-byte preamble, then "DICM").
pub fn is_dicom_file(path: &Path) -> bool {
    path.is_file() && has_dicom_magic(path).unwrap_or(false)
}

/// Whether `path` is a DICOMDIR, the index at the top of a CD or PACS export: it stands for the
/// folder it lies in. Only its file meta is read (a DICOMDIR's records can run to megabytes).
pub fn is_dicomdir(path: &Path) -> bool {
    is_dicom_file(path)
        && OpenFileOptions::new()
            .read_until(Tag(0x0008, 0x0000))
            .open_file(path)
            .is_ok_and(|f| meta_is_dicomdir(&f))
}

/// Whether a file's meta names the DICOMDIR (Media Storage Directory) SOP Class.
fn meta_is_dicomdir(file: &FileDicomObject<Obj>) -> bool {
    file.meta()
        .media_storage_sop_class_uid()
        .trim_end_matches(['\0', ' '])
        == DICOMDIR_SOP_CLASS
}

fn read_chosen(dir: &Path, choice: Choice) -> Result<(Volume<f32>, SeriesRef), DicomError> {
    let (slices, stack) = scan_series(dir, choice)?;
    // Before allocating: a header claiming 65535 x 65535 images must fail, not abort. Checked
    // arithmetic: Rows/Columns may be IS strings up to 2^32 - 1, whose product with the slice
    // count can wrap a u64 to a small number (2^31 x 2^31 x 4 = 0).
    let bytes = [stack.rows, stack.cols, stack.slices]
        .iter()
        .try_fold(4u64, |acc, n| acc.checked_mul(*n as u64));
    if bytes.is_none_or(|b| b > MAX_VOLUME_BYTES) {
        return Err(DicomError::attribute(
            &slices[0].path,
            "Rows/Columns",
            format!(
                "{} x {} pixels x {} slices exceed the {MAX_VOLUME_BYTES}-byte volume limit",
                stack.rows, stack.cols, stack.slices
            ),
        ));
    }
    let mut data = Array3::<f32>::zeros((stack.cols, stack.rows, stack.slices));
    // Each file is opened and decoded once, however many of the slices are its frames.
    let mut by_file: BTreeMap<&Path, Vec<(usize, &SliceHeader)>> = BTreeMap::new();
    for (k, h) in slices.iter().enumerate() {
        by_file.entry(h.path.as_path()).or_default().push((k, h));
    }
    for (path, frames) in by_file {
        let headers: Vec<&SliceHeader> = frames.iter().map(|(_, h)| *h).collect();
        for ((k, _), pixels) in frames.iter().zip(read_frames(path, &headers)?) {
            for row in 0..stack.rows {
                for col in 0..stack.cols {
                    let (i, j) = stack.voxel_of_pixel(row, col);
                    data[[i, j, *k]] = pixels[row * stack.cols + col];
                }
            }
        }
    }
    let series = series_ref(&slices, &stack);
    let vol = Volume::new(data, stack.affine());
    let reorient = slices[0].is_3d_acquisition && stack.slices > 1;
    let vol = match dcm2niix_ortho(&vol.affine, vol.shape()).filter(|_| reorient) {
        Some(r) => r.apply(&vol),
        None => vol,
    };
    Ok((vol, series))
}

/// The identity and slice layout of a series without decoding its pixels, e.g. to write a
/// structure set for a prediction made on it.
pub fn read_series_ref(dir: &Path, series_uid: Option<&str>) -> Result<SeriesRef, DicomError> {
    let (slices, stack) = scan_series(dir, Choice::Uid(series_uid))?;
    Ok(series_ref(&slices, &stack))
}

fn scan_series(dir: &Path, choice: Choice) -> Result<(Vec<SliceHeader>, Stack), DicomError> {
    let headers = scan_dir(dir)?;
    let mut slices = select_series(dir, headers, choice)?;
    let stack = build_stack(&mut slices)?;
    Ok((slices, stack))
}

/// A slice's series and its header, or why the file's header is unusable. The error only matters if
/// that series is the one selected: a broken localiser must not block reading the T1 series.
type Scanned = (String, Result<SliceHeader, DicomError>);

/// Headers of every slice of every image object in `dir` and its subfolders ([`folder_files`]),
/// in path and frame order.
fn scan_dir(dir: &Path) -> Result<Vec<Scanned>, DicomError> {
    let paths = folder_files(dir)?.into_iter().filter(|p| {
        !p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
    });
    let mut headers = Vec::new();
    let mut skipped = 0usize;
    for path in paths {
        if !has_dicom_magic(&path)? {
            skipped += 1;
            continue;
        }
        check_declared_lengths(&path)?;
        let obj = OpenFileOptions::new()
            .read_until(tags::PIXEL_DATA)
            .open_file(&path)
            .map_err(|e| DicomError::parse(&path, e))?;
        if !is_image_object(&obj) {
            skipped += 1;
            continue;
        }
        let series_uid = req_str(
            &obj,
            tags::SERIES_INSTANCE_UID,
            "Series Instance UID",
            &path,
        )?;
        match slice_headers(&path, &obj) {
            Ok(frames) => headers.extend(frames.into_iter().map(|h| (series_uid.clone(), Ok(h)))),
            Err(e) => headers.push((series_uid, Err(e))),
        }
    }
    if headers.is_empty() {
        return Err(DicomError::NoSeries {
            dir: dir.to_path_buf(),
            reason: format!("{skipped} files skipped as non-DICOM or non-image objects"),
        });
    }
    Ok(headers)
}

/// Part 10 files start with a 128-byte preamble and "DICM"; anything else in the folder
/// (notes, JSON sidecars, NIfTI) is not ours to parse.
fn has_dicom_magic(path: &Path) -> Result<bool, DicomError> {
    let mut f = std::fs::File::open(path).map_err(|e| DicomError::file(path, e))?;
    let mut head = [0u8; 132];
    let mut filled = 0;
    while filled < head.len() {
        match f.read(&mut head[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(DicomError::file(path, e)),
        }
    }
    Ok(&head[128..] == b"DICM")
}

/// False for objects that are not image slices (structure sets, reports, DICOMDIR).
fn is_image_object(file: &FileDicomObject<Obj>) -> bool {
    if meta_is_dicomdir(file) {
        return false;
    }
    opt_str(file, tags::MODALITY)
        .is_none_or(|m| !NON_IMAGE_MODALITIES.contains(&m.to_ascii_uppercase().as_str()))
}

/// A series' first readable header, for its number and description.
fn first_readable(headers: &[Result<SliceHeader, DicomError>]) -> Option<&SliceHeader> {
    headers.iter().find_map(|h| h.as_ref().ok())
}

fn select_series(
    dir: &Path,
    scanned: Vec<Scanned>,
    choice: Choice,
) -> Result<Vec<SliceHeader>, DicomError> {
    let mut by_series: BTreeMap<String, Vec<Result<SliceHeader, DicomError>>> = BTreeMap::new();
    for (uid, h) in scanned {
        by_series.entry(uid).or_default().push(h);
    }
    let describe = |uid: &String, s: &Vec<Result<SliceHeader, DicomError>>| {
        let first = first_readable(s);
        format!(
            "{uid} (series {}, '{}', {} slices)",
            first
                .and_then(|h| h.series_number.as_deref())
                .unwrap_or("?"),
            first
                .and_then(|h| h.series_description.as_deref())
                .unwrap_or(""),
            s.len()
        )
    };
    // An archive exported into one folder may hold hundreds of series: the error names the
    // first ones and counts the rest, so it stays one readable line.
    let listing = || {
        let mut shown: Vec<String> = by_series
            .iter()
            .take(MAX_SERIES_LISTED)
            .map(|(u, s)| describe(u, s))
            .collect();
        if by_series.len() > MAX_SERIES_LISTED {
            shown.push(format!("and {} more", by_series.len() - MAX_SERIES_LISTED));
        }
        shown
    };
    let not_selected = |reason, series| DicomError::SeriesNotSelected {
        dir: dir.to_path_buf(),
        found: by_series.len(),
        reason,
        series,
    };
    let uid = match choice {
        Choice::Uid(Some(uid)) => {
            let uid = uid.trim();
            if !by_series.contains_key(uid) {
                return Err(DicomError::SeriesNotFound {
                    dir: dir.to_path_buf(),
                    uid: uid.to_string(),
                    present: listing(),
                });
            }
            uid.to_string()
        }
        Choice::Described(selector) => {
            let descriptions: Vec<String> = by_series
                .values()
                .map(|s| {
                    first_readable(s)
                        .and_then(|h| h.series_description.clone())
                        .unwrap_or_default()
                })
                .collect();
            let matched = selector.select_all(descriptions.iter().map(String::as_str));
            match matched.as_slice() {
                [one] => by_series.keys().nth(*one).cloned().unwrap_or_default(),
                _ => {
                    let reason = if matched.is_empty() {
                        format!("no Series Description matches '{}'", selector.text())
                    } else {
                        format!(
                            "{} Series Descriptions match '{}'; name one series by its UID",
                            matched.len(),
                            selector.text()
                        )
                    };
                    return Err(not_selected(reason, listing()));
                }
            }
        }
        _ if by_series.len() == 1 => by_series.keys().next().cloned().unwrap_or_default(),
        Choice::Uid(None) => {
            return Err(DicomError::AmbiguousSeries {
                dir: dir.to_path_buf(),
                found: by_series.len(),
                series: listing(),
            })
        }
        Choice::DrawnOn { object, series } => {
            let here: Vec<&String> = series
                .iter()
                .filter(|u| by_series.contains_key(*u))
                .collect();
            match here.as_slice() {
                [one] => (*one).clone(),
                _ => {
                    let object = object.display();
                    let reason = if series.is_empty() {
                        format!("{object} references no series")
                    } else if here.is_empty() {
                        format!("{object} references none of them ({})", series.join(", "))
                    } else {
                        format!(
                            "{object} references {} of them; keep only the one it was drawn on",
                            here.len()
                        )
                    };
                    return Err(not_selected(reason, listing()));
                }
            }
        }
    };
    by_series
        .remove(&uid)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// Checks that the images form one regular stack, sorts them along the normal and returns the
/// stack geometry.
fn build_stack(slices: &mut [SliceHeader]) -> Result<Stack, DicomError> {
    let first = slices[0].clone();
    let row_dir: V3 = [
        first.orientation[0],
        first.orientation[1],
        first.orientation[2],
    ];
    let col_dir: V3 = [
        first.orientation[3],
        first.orientation[4],
        first.orientation[5],
    ];
    if (norm(row_dir) - 1.0).abs() > 1e-3
        || (norm(col_dir) - 1.0).abs() > 1e-3
        || dot(row_dir, col_dir).abs() > 1e-3
    {
        return Err(DicomError::attribute(
            &first.path,
            "Image Orientation (Patient)",
            "row and column directions are not orthonormal",
        ));
    }
    let row_dir = scale(row_dir, 1.0 / norm(row_dir));
    let col_dir = scale(col_dir, 1.0 / norm(col_dir));
    for s in slices.iter() {
        let same_orientation = s
            .orientation
            .iter()
            .zip(first.orientation.iter())
            .all(|(a, b)| (a - b).abs() <= 1e-4);
        let same_spacing = s
            .pixel_spacing
            .iter()
            .zip(first.pixel_spacing.iter())
            .all(|(a, b)| (a - b).abs() <= 1e-4 * b.max(1.0));
        if !same_orientation || !same_spacing || s.rows != first.rows || s.cols != first.cols {
            return Err(DicomError::geometry(
                &s.path,
                format!(
                    "{}orientation, pixel spacing or matrix size differs from {} in the same \
                     series (localiser or mixed acquisitions? split the series first)",
                    s.frame_prefix(),
                    first.name()
                ),
            ));
        }
    }
    let normal = cross(row_dir, col_dir);
    let proj = |s: &SliceHeader| dot(s.position, normal);
    slices.sort_by(|a, b| proj(a).total_cmp(&proj(b)));

    let n = slices.len();
    let slice_spacing = if n == 1 {
        first
            .spacing_between_slices
            .or(first.slice_thickness)
            .filter(|v| *v > 0.0)
            .unwrap_or(1.0)
    } else {
        (proj(&slices[n - 1]) - proj(&slices[0])) / (n - 1) as f64
    };
    if let Some(problem) = spacing_problem(slice_spacing) {
        return Err(DicomError::attribute(
            &slices[n - 1].path,
            "Image Position (Patient)",
            format!("slice {problem}"),
        ));
    }
    let origin = slices[0].position;
    let in_plane_tol = 1e-3_f64.max(0.05 * first.pixel_spacing[0].min(first.pixel_spacing[1]));
    let gap_tol = 1e-3_f64.max(0.01 * slice_spacing);
    for w in slices.windows(2) {
        let gap = proj(&w[1]) - proj(&w[0]);
        if gap < 1e-3 {
            return Err(DicomError::geometry(
                &w[1].path,
                format!(
                    "{}lies at the same slice position as {} (several echoes, phases or \
                     repeats in one series are not supported)",
                    w[1].frame_prefix(),
                    w[0].name()
                ),
            ));
        }
        if (gap - slice_spacing).abs() > gap_tol {
            return Err(DicomError::geometry(
                &w[1].path,
                format!(
                    "{}is {gap:.4} mm from the previous slice {} while the mean spacing is \
                     {slice_spacing:.4} mm (missing or irregular slices)",
                    w[1].frame_prefix(),
                    w[0].name()
                ),
            ));
        }
    }
    for s in slices.iter() {
        let along = dot(sub(s.position, origin), normal);
        let off = norm(sub(sub(s.position, origin), scale(normal, along)));
        if off > in_plane_tol {
            return Err(DicomError::geometry(
                &s.path,
                format!(
                    "{}Image Position is {off:.3} mm off the line through the first slice along \
                     the normal (tilted/sheared stacks are not supported)",
                    s.frame_prefix()
                ),
            ));
        }
    }
    Ok(Stack {
        row_dir,
        col_dir,
        col_spacing: first.pixel_spacing[1],
        row_spacing: first.pixel_spacing[0],
        slice_spacing,
        rows: first.rows,
        cols: first.cols,
        slices: n,
        first_position: origin,
    })
}

fn series_ref(slices: &[SliceHeader], stack: &Stack) -> SeriesRef {
    let first = &slices[0];
    SeriesRef {
        study_instance_uid: first.study_uid.clone(),
        series_instance_uid: first.series_uid.clone(),
        series_description: first.series_description.clone().unwrap_or_default(),
        frame_of_reference_uid: first.frame_of_reference_uid.clone(),
        sop_class_uid: first.sop_class_uid.clone(),
        sop_instance_uids: slices.iter().map(|s| s.sop_instance_uid.clone()).collect(),
        frame_numbers: if slices.iter().any(|s| s.frame.is_some()) {
            slices
                .iter()
                .map(|s| s.frame.map(|f| f as u32 + 1))
                .collect()
        } else {
            Vec::new()
        },
        image_positions: slices.iter().map(|s| s.position).collect(),
        image_orientation: first.orientation,
        rows: stack.rows,
        columns: stack.cols,
        pixel_spacing: first.pixel_spacing,
        slice_spacing: stack.slice_spacing,
        patient: first.patient.clone(),
    }
}
