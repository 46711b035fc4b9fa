//! Writing a volume as an MR Image Storage series: one explicit-VR little-endian file per
//! slice, laid out so that `read_series` (and dcm2niix) give the volume back.
//!
//! UIDs are fresh for every series unless `SeriesMeta::uids` is seeded; seeded output does not
//! depend on the clock either, so the same volume and meta give byte-identical files
//! (reproducible synthetic cohorts and tests).

use crate::dataset::{ds_elem, is_elem, str_elem, strs_elem, us_elem, Obj};
use crate::error::with_causes;
use crate::geometry::{dot, layout_for, WriteLayout};
use crate::rescale::PixelEncoding;
use crate::uid::{UidGenerator, UidKind, UidSource};
use crate::{DicomError, PatientStudy, SeriesRef};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::InMemDicomObject;
use mtsa_io::{AtomicDir, Volume};
use std::path::Path;

/// Descriptive attributes of a written series. Only `patient_id` and `uids` matter for
/// identity; the study date is optional because writing "today" would make seeded output
/// non-reproducible.
#[derive(Clone)]
pub struct SeriesMeta {
    pub patient_id: String,
    pub patient_name: String,
    /// YYYYMMDD, or `None` to leave Study Date empty.
    pub study_date: Option<String>,
    pub series_description: String,
    pub series_number: u32,
    /// Fresh UIDs (the default), or a seed to get the same files again.
    pub uids: UidSource,
    /// Put the series into an existing study instead of a new one derived from the seed.
    pub study_instance_uid: Option<String>,
    /// Share an existing frame of reference (e.g. a second sequence of the same session).
    pub frame_of_reference_uid: Option<String>,
}

impl Default for SeriesMeta {
    fn default() -> Self {
        Self {
            patient_id: "ANONYMOUS".into(),
            patient_name: String::new(),
            study_date: None,
            series_description: "mtsa".into(),
            series_number: 1,
            uids: UidSource::Random,
            study_instance_uid: None,
            frame_of_reference_uid: None,
        }
    }
}

impl std::fmt::Debug for SeriesMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesMeta")
            .field("series_description", &self.series_description)
            .field("series_number", &self.series_number)
            .field("uids", &self.uids)
            .field("patient", &"<not shown>")
            .finish()
    }
}

/// Voxel types a series can be written from.
pub trait SeriesVoxel: Copy {
    fn to_f64(self) -> f64;
}

macro_rules! series_voxel {
    ($($t:ty),*) => {$(
        impl SeriesVoxel for $t {
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
        }
    )*};
}
series_voxel!(f32, f64, i16, u16, u8, i8);

/// Writes `vol` into the new (or empty) folder `dir` as files `IM00001.dcm`... and returns the
/// reference a structure set needs. Reading it back gives `vol`'s voxels within the rescale
/// step (see `PixelEncoding`; exact for integer volumes that fit 16 bits).
///
/// The voxel order and affine come back identical when the volume is either in the nearest-RAS
/// orientation (what `mtsa_io::Reorientation` and dcm2niix produce for 3-D scans; written with
/// MR Acquisition Type "3D") or has a negative determinant (dcm2niix's order for 2-D scans, e.g.
/// LAS; written as "2D"). Any other orientation (e.g. LPS) is written as "3D" and comes back
/// reoriented to nearest RAS: the same image in world space, as dcm2niix would give it.
pub fn write_series<T: SeriesVoxel>(
    dir: &Path,
    vol: &Volume<T>,
    meta: &SeriesMeta,
) -> Result<SeriesRef, DicomError> {
    let layout = layout_for(&vol.affine, vol.shape()).map_err(|r| DicomError::geometry(dir, r))?;
    // A negative determinant is dcm2niix's 2-D order, read back as is; any other grid is only
    // reproducible through the 3-D reorientation (exactly when it is already nearest RAS).
    let acquisition_type = if layout.flip_i { "3D" } else { "2D" };
    let enc = PixelEncoding::choose(vol.data.iter().map(|v| v.to_f64()))
        .map_err(|r| DicomError::invalid(dir, r))?;
    if let Some(date) = &meta.study_date {
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DicomError::invalid(dir, "study date must be YYYYMMDD"));
        }
    }
    let uids =
        UidGenerator::new(meta.uids, "mtsa-series").map_err(|r| DicomError::write(dir, r))?;
    let study_uid = meta
        .study_instance_uid
        .clone()
        .unwrap_or_else(|| uids.uid(UidKind::Study, 0));
    let frame_uid = meta
        .frame_of_reference_uid
        .clone()
        .unwrap_or_else(|| uids.uid(UidKind::FrameOfReference, 0));
    for (name, uid) in [("study", &study_uid), ("frame of reference", &frame_uid)] {
        if !crate::uid::is_valid_uid(uid) {
            return Err(DicomError::invalid(
                dir,
                format!("invalid {name} UID '{uid}'"),
            ));
        }
    }
    let series = SeriesRef {
        study_instance_uid: study_uid,
        series_instance_uid: uids.uid(UidKind::Series, 0),
        series_description: meta.series_description.clone(),
        frame_of_reference_uid: frame_uid,
        sop_class_uid: uids::MR_IMAGE_STORAGE.to_string(),
        sop_instance_uids: (0..layout.stack.slices)
            .map(|k| uids.uid(UidKind::SopInstance, k as u64))
            .collect(),
        frame_numbers: Vec::new(),
        image_positions: (0..layout.stack.slices)
            .map(|k| layout.stack.slice_position(k))
            .collect(),
        image_orientation: {
            let (r, c) = (layout.stack.row_dir, layout.stack.col_dir);
            [r[0], r[1], r[2], c[0], c[1], c[2]]
        },
        rows: layout.stack.rows,
        columns: layout.stack.cols,
        pixel_spacing: [layout.stack.row_spacing, layout.stack.col_spacing],
        slice_spacing: layout.stack.slice_spacing,
        patient: PatientStudy {
            patient_name: meta.patient_name.clone(),
            patient_id: meta.patient_id.clone(),
            study_date: meta.study_date.clone().unwrap_or_default(),
            ..PatientStudy::default()
        },
    };

    let out = AtomicDir::create(dir)?;
    for k in 0..layout.stack.slices {
        let mut obj = slice_object(vol, &layout, &enc, &series, meta, acquisition_type, k);
        uids.stamp(&mut obj);
        let name = format!("IM{:05}.dcm", k + 1);
        let file = obj
            .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
            .map_err(|e| DicomError::write(dir.join(&name), e))?;
        file.write_to_file(out.path().join(&name))
            .map_err(|e| DicomError::write(dir.join(&name), with_causes(&e)))?;
    }
    out.commit()?;
    Ok(series)
}

/// The data set of slice `k`.
fn slice_object<T: SeriesVoxel>(
    vol: &Volume<T>,
    layout: &WriteLayout,
    enc: &PixelEncoding,
    series: &SeriesRef,
    meta: &SeriesMeta,
    acquisition_type: &str,
    k: usize,
) -> Obj {
    let stack = &layout.stack;
    let mut pixels = Vec::with_capacity(stack.rows * stack.cols);
    for row in 0..stack.rows {
        for col in 0..stack.cols {
            let (i, j) = layout.voxel_of_pixel(row, col);
            pixels.push(enc.encode(vol.data[[i, j, k]].to_f64()));
        }
    }
    let (lo, hi) = pixels
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &w| {
            let v = enc.decode(w);
            (lo.min(v), hi.max(v))
        });
    let position = series.image_positions[k];
    let p = &series.patient;
    let elems = vec![
        str_elem(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"),
        strs_elem(tags::IMAGE_TYPE, VR::CS, &["DERIVED", "SECONDARY", "OTHER"]),
        str_elem(tags::SOP_CLASS_UID, VR::UI, &series.sop_class_uid),
        str_elem(tags::SOP_INSTANCE_UID, VR::UI, &series.sop_instance_uids[k]),
        str_elem(tags::STUDY_DATE, VR::DA, &p.study_date),
        str_elem(tags::STUDY_TIME, VR::TM, ""),
        str_elem(tags::ACCESSION_NUMBER, VR::SH, ""),
        str_elem(tags::MODALITY, VR::CS, "MR"),
        str_elem(tags::MANUFACTURER, VR::LO, "mtsa"),
        str_elem(tags::REFERRING_PHYSICIAN_NAME, VR::PN, ""),
        str_elem(tags::SERIES_DESCRIPTION, VR::LO, &meta.series_description),
        // Type 2C attributes of the General Series and MR Image modules, present and empty
        // (unknown) so validators (dciodvfy) and PACS accept the objects.
        str_elem(tags::LATERALITY, VR::CS, ""),
        str_elem(tags::PATIENT_POSITION, VR::CS, ""),
        str_elem(tags::REPETITION_TIME, VR::DS, ""),
        str_elem(tags::MANUFACTURER_MODEL_NAME, VR::LO, "mtsa-dicom"),
        str_elem(tags::PATIENT_NAME, VR::PN, &p.patient_name),
        str_elem(tags::PATIENT_ID, VR::LO, &p.patient_id),
        str_elem(tags::PATIENT_BIRTH_DATE, VR::DA, ""),
        str_elem(tags::PATIENT_SEX, VR::CS, ""),
        // MR Image module: "research mode", no sequence details for derived images.
        str_elem(tags::SCANNING_SEQUENCE, VR::CS, "RM"),
        str_elem(tags::SEQUENCE_VARIANT, VR::CS, "NONE"),
        str_elem(tags::SCAN_OPTIONS, VR::CS, ""),
        str_elem(tags::MR_ACQUISITION_TYPE, VR::CS, acquisition_type),
        ds_elem(tags::SLICE_THICKNESS, &[stack.slice_spacing]),
        str_elem(tags::ECHO_TIME, VR::DS, ""),
        str_elem(tags::ECHO_TRAIN_LENGTH, VR::IS, ""),
        ds_elem(tags::SPACING_BETWEEN_SLICES, &[stack.slice_spacing]),
        str_elem(tags::STUDY_INSTANCE_UID, VR::UI, &series.study_instance_uid),
        str_elem(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            &series.series_instance_uid,
        ),
        str_elem(tags::STUDY_ID, VR::SH, ""),
        is_elem(tags::SERIES_NUMBER, i64::from(meta.series_number)),
        is_elem(tags::INSTANCE_NUMBER, k as i64 + 1),
        ds_elem(tags::IMAGE_POSITION_PATIENT, &position),
        ds_elem(tags::IMAGE_ORIENTATION_PATIENT, &series.image_orientation),
        str_elem(
            tags::FRAME_OF_REFERENCE_UID,
            VR::UI,
            &series.frame_of_reference_uid,
        ),
        str_elem(tags::POSITION_REFERENCE_INDICATOR, VR::LO, ""),
        ds_elem(tags::SLICE_LOCATION, &[dot(position, stack.normal())]),
        us_elem(tags::SAMPLES_PER_PIXEL, 1),
        str_elem(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        us_elem(tags::ROWS, stack.rows as u16),
        us_elem(tags::COLUMNS, stack.cols as u16),
        ds_elem(tags::PIXEL_SPACING, &[stack.row_spacing, stack.col_spacing]),
        us_elem(tags::BITS_ALLOCATED, 16),
        us_elem(tags::BITS_STORED, 16),
        us_elem(tags::HIGH_BIT, 15),
        us_elem(tags::PIXEL_REPRESENTATION, u16::from(enc.signed)),
        ds_elem(tags::WINDOW_CENTER, &[(lo + hi) / 2.0]),
        ds_elem(tags::WINDOW_WIDTH, &[(hi - lo).max(1.0)]),
        ds_elem(tags::RESCALE_INTERCEPT, &[enc.intercept]),
        ds_elem(tags::RESCALE_SLOPE, &[enc.slope]),
        str_elem(tags::RESCALE_TYPE, VR::LO, "US"),
        DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(pixels.into())),
    ];
    InMemDicomObject::from_element_iter(elems)
}
