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

use crate::bounded::check_declared_lengths;
use crate::dataset::{opt_f64, opt_str, req_f64s, req_str, req_usize, Obj};
use crate::geometry::{cross, dot, norm, scale, sub, Stack, V3};
use crate::ortho::dcm2niix_ortho;
use crate::{DicomError, PatientStudy, SeriesRef};
use dicom_dictionary_std::tags;
use dicom_object::{FileDicomObject, OpenFileOptions};
use dicom_pixeldata::{ConvertOptions, ModalityLutOption, PixelDecoder};
use mtsa_io::{spacing_problem, Volume, MAX_POSITION_MM, MAX_VOLUME_BYTES};
use ndarray::Array3;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Modalities of objects that may share a folder with the images but are not slices of them.
const NON_IMAGE_MODALITIES: &[&str] = &[
    "RTSTRUCT", "RTPLAN", "RTDOSE", "RTRECORD", "SR", "PR", "KO", "REG", "SEG", "DOC", "RWV",
];
const DICOMDIR_SOP_CLASS: &str = "1.2.840.10008.1.3.10";

/// Reads the image series in `dir` (files directly inside it; non-DICOM files, DICOMDIR and
/// non-image objects such as an RTSTRUCT are skipped). With several series present,
/// `series_uid` must name one. Rescale slope/intercept are applied per image.
pub fn read_series(
    dir: &Path,
    series_uid: Option<&str>,
) -> Result<(Volume<f32>, SeriesRef), DicomError> {
    let (slices, stack) = scan_series(dir, series_uid)?;
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
    for (k, h) in slices.iter().enumerate() {
        let pixels = read_pixels(h)?;
        for row in 0..stack.rows {
            for col in 0..stack.cols {
                let (i, j) = stack.voxel_of_pixel(row, col);
                data[[i, j, k]] = pixels[row * stack.cols + col];
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
    let (slices, stack) = scan_series(dir, series_uid)?;
    Ok(series_ref(&slices, &stack))
}

/// The attributes of one image file needed to place it in the volume.
#[derive(Debug, Clone)]
struct SliceHeader {
    path: PathBuf,
    series_uid: String,
    series_number: Option<String>,
    series_description: Option<String>,
    study_uid: String,
    frame_of_reference_uid: String,
    sop_class_uid: String,
    sop_instance_uid: String,
    position: V3,
    orientation: [f64; 6],
    /// (between rows, between columns), the DICOM order.
    pixel_spacing: [f64; 2],
    rows: usize,
    cols: usize,
    /// 8, 16 or 32: with Rows and Columns, the exact native Pixel Data length.
    bits_allocated: usize,
    slice_thickness: Option<f64>,
    spacing_between_slices: Option<f64>,
    /// MR Acquisition Type "3D": dcm2niix reorients such volumes.
    is_3d_acquisition: bool,
    patient: PatientStudy,
}

fn scan_series(
    dir: &Path,
    series_uid: Option<&str>,
) -> Result<(Vec<SliceHeader>, Stack), DicomError> {
    let headers = scan_dir(dir)?;
    let mut slices = select_series(dir, headers, series_uid)?;
    let stack = build_stack(&mut slices)?;
    Ok((slices, stack))
}

/// A file's series and its header, or why the header is unusable. The error only matters if
/// that series is the one selected: a broken localiser must not block reading the T1 series.
type Scanned = (String, Result<SliceHeader, DicomError>);

/// Headers of every image object in `dir`, in file-name order.
fn scan_dir(dir: &Path) -> Result<Vec<Scanned>, DicomError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DicomError::file(dir, e))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| DicomError::file(dir, e))?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if path.is_file() && !hidden {
            paths.push(path);
        }
    }
    paths.sort();
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
        headers.push((series_uid, slice_header(&path, &obj)));
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
    let meta_class = file
        .meta()
        .media_storage_sop_class_uid()
        .trim_end_matches(['\0', ' ']);
    if meta_class == DICOMDIR_SOP_CLASS {
        return false;
    }
    opt_str(file, tags::MODALITY)
        .is_none_or(|m| !NON_IMAGE_MODALITIES.contains(&m.to_ascii_uppercase().as_str()))
}

fn slice_header(path: &Path, obj: &Obj) -> Result<SliceHeader, DicomError> {
    if let Some(frames) = opt_f64(obj, tags::NUMBER_OF_FRAMES, "Number of Frames", path)? {
        if frames > 1.0 {
            return Err(DicomError::invalid(
                path,
                "multi-frame (enhanced) images are not supported; convert to single-frame files",
            ));
        }
        if frames != 1.0 {
            return Err(DicomError::attribute(
                path,
                "Number of Frames",
                format!("{frames} is not a frame count"),
            ));
        }
    }
    let ipp = req_f64s(
        obj,
        tags::IMAGE_POSITION_PATIENT,
        "Image Position (Patient)",
        3,
        path,
    )?;
    let iop = req_f64s(
        obj,
        tags::IMAGE_ORIENTATION_PATIENT,
        "Image Orientation (Patient)",
        6,
        path,
    )?;
    if let Some(far) = ipp.iter().find(|v| v.abs() > MAX_POSITION_MM) {
        return Err(DicomError::attribute(
            path,
            "Image Position (Patient)",
            format!("{far} mm is beyond {MAX_POSITION_MM} mm"),
        ));
    }
    let ps = req_f64s(obj, tags::PIXEL_SPACING, "Pixel Spacing", 2, path)?;
    let slice_thickness = opt_f64(obj, tags::SLICE_THICKNESS, "Slice Thickness", path)?;
    let spacing_between_slices = opt_f64(
        obj,
        tags::SPACING_BETWEEN_SLICES,
        "Spacing Between Slices",
        path,
    )?;
    let spacings = ps.iter().map(|v| ("Pixel Spacing", *v)).chain(
        [
            ("Slice Thickness", slice_thickness),
            ("Spacing Between Slices", spacing_between_slices),
        ]
        .into_iter()
        .filter_map(|(name, v)| Some((name, v?))),
    );
    for (name, mm) in spacings {
        if let Some(problem) = spacing_problem(mm) {
            return Err(DicomError::attribute(path, name, problem));
        }
    }
    let rows = req_usize(obj, tags::ROWS, "Rows", path)?;
    let cols = req_usize(obj, tags::COLUMNS, "Columns", path)?;
    if rows == 0 || cols == 0 {
        return Err(DicomError::attribute(path, "Rows/Columns", "zero"));
    }
    let bits_allocated = req_usize(obj, tags::BITS_ALLOCATED, "Bits Allocated", path)?;
    if ![8, 16, 32].contains(&bits_allocated) {
        return Err(DicomError::attribute(
            path,
            "Bits Allocated",
            format!("{bits_allocated} is not 8, 16 or 32"),
        ));
    }
    if let Some(stored) = opt_f64(obj, tags::BITS_STORED, "Bits Stored", path)? {
        if !(stored >= 1.0 && stored <= bits_allocated as f64) {
            return Err(DicomError::attribute(
                path,
                "Bits Stored",
                format!("{stored} is not between 1 and Bits Allocated ({bits_allocated})"),
            ));
        }
    }
    let patient = PatientStudy {
        patient_name: opt_str(obj, tags::PATIENT_NAME).unwrap_or_default(),
        patient_id: opt_str(obj, tags::PATIENT_ID).unwrap_or_default(),
        patient_birth_date: opt_str(obj, tags::PATIENT_BIRTH_DATE).unwrap_or_default(),
        patient_sex: opt_str(obj, tags::PATIENT_SEX).unwrap_or_default(),
        study_date: opt_str(obj, tags::STUDY_DATE).unwrap_or_default(),
        study_time: opt_str(obj, tags::STUDY_TIME).unwrap_or_default(),
        study_id: opt_str(obj, tags::STUDY_ID).unwrap_or_default(),
        accession_number: opt_str(obj, tags::ACCESSION_NUMBER).unwrap_or_default(),
        referring_physician_name: opt_str(obj, tags::REFERRING_PHYSICIAN_NAME).unwrap_or_default(),
    };
    Ok(SliceHeader {
        path: path.to_path_buf(),
        series_uid: req_str(obj, tags::SERIES_INSTANCE_UID, "Series Instance UID", path)?,
        series_number: opt_str(obj, tags::SERIES_NUMBER),
        series_description: opt_str(obj, tags::SERIES_DESCRIPTION),
        study_uid: req_str(obj, tags::STUDY_INSTANCE_UID, "Study Instance UID", path)?,
        frame_of_reference_uid: req_str(
            obj,
            tags::FRAME_OF_REFERENCE_UID,
            "Frame of Reference UID",
            path,
        )?,
        sop_class_uid: req_str(obj, tags::SOP_CLASS_UID, "SOP Class UID", path)?,
        sop_instance_uid: req_str(obj, tags::SOP_INSTANCE_UID, "SOP Instance UID", path)?,
        position: [ipp[0], ipp[1], ipp[2]],
        orientation: [iop[0], iop[1], iop[2], iop[3], iop[4], iop[5]],
        pixel_spacing: [ps[0], ps[1]],
        rows,
        cols,
        bits_allocated,
        slice_thickness,
        spacing_between_slices,
        is_3d_acquisition: opt_str(obj, tags::MR_ACQUISITION_TYPE)
            .is_some_and(|t| t.to_ascii_uppercase().starts_with("3D")),
        patient,
    })
}

fn select_series(
    dir: &Path,
    scanned: Vec<Scanned>,
    series_uid: Option<&str>,
) -> Result<Vec<SliceHeader>, DicomError> {
    let mut by_series: BTreeMap<String, Vec<Result<SliceHeader, DicomError>>> = BTreeMap::new();
    for (uid, h) in scanned {
        by_series.entry(uid).or_default().push(h);
    }
    let describe = |uid: &String, s: &Vec<Result<SliceHeader, DicomError>>| {
        let first = s.iter().find_map(|h| h.as_ref().ok());
        format!(
            "{uid} (series {}, '{}', {} images)",
            first
                .and_then(|h| h.series_number.as_deref())
                .unwrap_or("?"),
            first
                .and_then(|h| h.series_description.as_deref())
                .unwrap_or(""),
            s.len()
        )
    };
    let listing = || by_series.iter().map(|(u, s)| describe(u, s)).collect();
    let chosen = match series_uid {
        Some(uid) => {
            let uid = uid.trim();
            if !by_series.contains_key(uid) {
                return Err(DicomError::SeriesNotFound {
                    dir: dir.to_path_buf(),
                    uid: uid.to_string(),
                    present: listing(),
                });
            }
            by_series.remove(uid).unwrap_or_default()
        }
        None if by_series.len() > 1 => {
            return Err(DicomError::AmbiguousSeries {
                dir: dir.to_path_buf(),
                series: listing(),
            })
        }
        None => by_series.into_values().next().unwrap_or_default(),
    };
    chosen.into_iter().collect()
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
                    "orientation, pixel spacing or matrix size differs from {} in the same series \
                     (localiser or mixed acquisitions? split the series first)",
                    first.path.display()
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
                    "lies at the same slice position as {} (several echoes, phases or repeats \
                     in one series are not supported)",
                    w[0].path.display()
                ),
            ));
        }
        if (gap - slice_spacing).abs() > gap_tol {
            return Err(DicomError::geometry(
                &w[1].path,
                format!(
                    "is {gap:.4} mm from the previous slice {} while the mean spacing is \
                     {slice_spacing:.4} mm (missing or irregular slices)",
                    w[0].path.display()
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
                    "Image Position is {off:.3} mm off the line through the first slice along \
                     the normal (tilted/sheared stacks are not supported)"
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

/// Decoded, rescaled pixels of one image in row-major order.
fn read_pixels(h: &SliceHeader) -> Result<Vec<f32>, DicomError> {
    let path = h.path.as_path();
    let obj = dicom_object::open_file(path).map_err(|e| DicomError::parse(path, e))?;
    if obj.get(tags::PIXEL_DATA).is_none() {
        return Err(DicomError::MissingPixelData {
            path: path.to_path_buf(),
        });
    }
    let samples = opt_f64(&obj, tags::SAMPLES_PER_PIXEL, "Samples per Pixel", path)?;
    if samples.is_some_and(|s| s != 1.0) {
        return Err(DicomError::invalid(
            path,
            "not a grey-scale image (Samples per Pixel is not 1)",
        ));
    }
    check_pixel_data_length(&obj, h)?;
    let pixel_err = |e: dicom_pixeldata::Error| DicomError::PixelData {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    // The codecs of dicom-transfer-syntax-registry 0.10 can panic on corrupt compressed
    // fragments (fuzzing found an out-of-bounds index in the RLE decoder): such a file is a
    // corrupt input like any other, so the panic becomes this file's error.
    // `catch_panic` keeps the panic hook quiet, so the user sees only the error line.
    let decoded = mtsa_io::catch_panic(|| obj.decode_pixel_data())
        .map_err(|_| DicomError::PixelData {
            path: path.to_path_buf(),
            reason: "corrupt compressed pixel data (the decoder failed)".into(),
        })?
        .map_err(pixel_err)?;
    if decoded.rows() as usize != h.rows || decoded.columns() as usize != h.cols {
        return Err(DicomError::PixelData {
            path: path.to_path_buf(),
            reason: "decoded size differs from Rows/Columns".into(),
        });
    }
    let raw: Vec<f64> = decoded
        .to_vec_frame_with_options(
            0,
            &ConvertOptions::new().with_modality_lut(ModalityLutOption::None),
        )
        .map_err(pixel_err)?;
    if raw.len() != h.rows * h.cols {
        return Err(DicomError::PixelData {
            path: path.to_path_buf(),
            reason: format!(
                "expected {} samples, decoded {}",
                h.rows * h.cols,
                raw.len()
            ),
        });
    }
    // A zero slope is a broken header, not a request to blank the image; dcm2niix also uses 1.
    let slope = opt_f64(&obj, tags::RESCALE_SLOPE, "Rescale Slope", path)?
        .filter(|s| *s != 0.0)
        .unwrap_or(1.0);
    let intercept =
        opt_f64(&obj, tags::RESCALE_INTERCEPT, "Rescale Intercept", path)?.unwrap_or(0.0);
    raw.into_iter()
        .map(|v| {
            let out = (v * slope + intercept) as f32;
            if out.is_finite() {
                Ok(out)
            } else {
                Err(DicomError::attribute(
                    path,
                    "Rescale Slope/Intercept",
                    format!(
                        "{slope} x {v} + {intercept} is not a finite 32-bit value; the header \
                         rescale is corrupt"
                    ),
                ))
            }
        })
        .collect()
}

/// Native (uncompressed) Pixel Data must hold exactly Rows x Columns x Bits Allocated / 8 bytes
/// (plus one pad byte to an even length): anything else is decoded as garbage, not refused, by
/// the decoder. Encapsulated (compressed) data is checked by its decoded size instead.
fn check_pixel_data_length(obj: &Obj, h: &SliceHeader) -> Result<(), DicomError> {
    let Some(value) = obj
        .get(tags::PIXEL_DATA)
        .and_then(|e| e.value().primitive())
    else {
        return Ok(());
    };
    let expected = h.rows * h.cols * h.bits_allocated / 8;
    let found = value.calculate_byte_len();
    if found == expected || found == expected + expected % 2 {
        return Ok(());
    }
    Err(DicomError::PixelData {
        path: h.path.clone(),
        reason: format!(
            "Pixel Data holds {found} bytes but Rows x Columns x Bits Allocated / 8 = {} x {} x \
             {} / 8 = {expected}",
            h.rows, h.cols, h.bits_allocated
        ),
    })
}

fn series_ref(slices: &[SliceHeader], stack: &Stack) -> SeriesRef {
    let first = &slices[0];
    SeriesRef {
        study_instance_uid: first.study_uid.clone(),
        series_instance_uid: first.series_uid.clone(),
        frame_of_reference_uid: first.frame_of_reference_uid.clone(),
        sop_class_uid: first.sop_class_uid.clone(),
        sop_instance_uids: slices.iter().map(|s| s.sop_instance_uid.clone()).collect(),
        image_positions: slices.iter().map(|s| s.position).collect(),
        image_orientation: first.orientation,
        rows: stack.rows,
        columns: stack.cols,
        pixel_spacing: first.pixel_spacing,
        slice_spacing: stack.slice_spacing,
        patient: first.patient.clone(),
    }
}
