//! Reading one segment of a DICOM Segmentation (SEG) as a mask on an image grid: a GTV as
//! OHIF, 3D Slicer or highdicom export it, in place of an RT Structure Set.
//!
//! A SEG lists only the frames that hold a segment, in any order, each placed by its own Plane
//! Position; a frame is put on the series slice at that position. A segmentation drawn on the
//! series shares its orientation, pixel spacing and matrix: anything else (another series, a
//! resampled segmentation) is an error rather than a wrong mask, as for structure sets.

use crate::bounded::{open_checked, open_object_of_class};
use crate::dataset::{
    frame_group, items, opt_f64, opt_f64s, opt_str, req_str, req_usize, us_elem, Obj,
};
use crate::derived::{grid_map, onto_grid};
use crate::error::list_or_none;
use crate::geometry::{dot, norm, scale, sub, Stack};
use crate::names::{GtvMask, NameSelector};
use crate::referenced::{is_segmentation, referenced_in};
use crate::rtstruct_read::rtstruct_mask;
use crate::series_read::{decode_pixels, read_series_drawn_on};
use crate::{DicomError, SeriesRef};
use dicom_core::Tag;
use dicom_dictionary_std::{tags, uids};
use dicom_object::DefaultDicomObject;
use dicom_pixeldata::{ConvertOptions, ModalityLutOption};
use mtsa_io::{Volume, MAX_VOLUME_BYTES};
use ndarray::Array3;
use std::path::Path;

/// How far (in slice spacings) a frame may sit from a slice of the series, and (in mm) beside
/// it, or its orientation and spacing differ from the series': rounding, not another grid.
const PLANE_TOL: f64 = 0.1;
const IN_PLANE_TOL_MM: f64 = 0.01;
const DIRECTION_TOL: f64 = 1e-4;

/// The GTV named `name` in `path`, an RT Structure Set (its ROIs) or a Segmentation (its
/// segments), rasterised on `grid` by [`crate::read_rtstruct`] or [`read_seg`], with the names
/// of the ROIs or segments `name` selected.
pub fn read_gtv_object<T>(
    path: &Path,
    name: &str,
    series: &SeriesRef,
    grid: &Volume<T>,
) -> Result<GtvMask, DicomError> {
    gtv_in(&open_checked(path)?, path, name, series, grid)
}

/// The series in `dir` the RT Structure Set or Segmentation `object` was drawn on (the only
/// image series there, or among several, as in a whole study exported into one folder, the one
/// `object` references), and its GTV `name` on that series ([`read_gtv_object`]). The object is
/// opened once for both.
pub fn read_drawn_case(
    dir: &Path,
    object: &Path,
    name: &str,
) -> Result<(Volume<f32>, SeriesRef, GtvMask), DicomError> {
    let obj = open_checked(object)?;
    let referenced = referenced_in(&obj, object)?;
    let (image, series) = read_series_drawn_on(dir, object, referenced)?;
    let gtv = gtv_in(&obj, object, name, &series, &image)?;
    Ok((image, series, gtv))
}

/// [`read_gtv_object`] on the object `obj`, opened from `path`.
fn gtv_in<T>(
    obj: &DefaultDicomObject,
    path: &Path,
    name: &str,
    series: &SeriesRef,
    grid: &Volume<T>,
) -> Result<GtvMask, DicomError> {
    if is_segmentation(obj, path)? {
        seg_mask(obj, path, name, series, grid)
    } else {
        rtstruct_mask(obj, path, name, series, grid)
    }
}

/// Labels of the segments of a Segmentation, in file order.
pub fn list_segments(path: &Path) -> Result<Vec<String>, DicomError> {
    let obj = open_segmentation(path)?;
    Ok(segments(&obj).into_iter().map(|(_, label)| label).collect())
}

/// The segment labelled `label` of the Segmentation at `path`, 1 inside and 0 outside, on
/// `grid`: the volume `read_series` gave for `series` (or any axis permutation or flip of it).
/// The label is matched as [`crate::read_rtstruct`] matches ROI names (case-insensitive;
/// several, comma-separated or with `*`, give their union). A FRACTIONAL segmentation is inside
/// from half its maximum value up.
pub fn read_seg<T>(
    path: &Path,
    label: &str,
    series: &SeriesRef,
    grid: &Volume<T>,
) -> Result<Volume<u8>, DicomError> {
    let obj = open_segmentation(path)?;
    Ok(seg_mask(&obj, path, label, series, grid)?.mask)
}

/// [`read_seg`] on the Segmentation `obj`, opened from `path`.
fn seg_mask<T>(
    obj: &DefaultDicomObject,
    path: &Path,
    label: &str,
    series: &SeriesRef,
    grid: &Volume<T>,
) -> Result<GtvMask, DicomError> {
    let all = segments(obj);
    let selector = NameSelector::parse(label);
    let picked = selector.select(all.iter().map(|(_, l)| l.as_str()));
    let chosen: Vec<f64> = picked.iter().map(|&i| all[i].0).collect();
    if chosen.is_empty() {
        let present: Vec<String> = all.into_iter().map(|(_, l)| l).collect();
        return Err(DicomError::invalid(
            path,
            format!(
                "no segment matches '{}' (case-insensitive, * for any characters); segments \
                 present: {}",
                selector.text(),
                list_or_none(&present)
            ),
        ));
    }
    let frame_uid = req_str(
        obj,
        tags::FRAME_OF_REFERENCE_UID,
        "Frame of Reference UID",
        path,
    )?;
    if frame_uid != series.frame_of_reference_uid {
        return Err(DicomError::invalid(
            path,
            format!(
                "drawn in frame of reference {frame_uid}, but the series is in {}",
                series.frame_of_reference_uid
            ),
        ));
    }
    let stack = series.stack().map_err(|r| DicomError::invalid(path, r))?;
    let (rows, cols) = (
        req_usize(obj, tags::ROWS, "Rows", path)?,
        req_usize(obj, tags::COLUMNS, "Columns", path)?,
    );
    if (rows, cols) != (stack.rows, stack.cols) {
        return Err(DicomError::invalid(
            path,
            format!(
                "frames of {rows} x {cols} pixels, but the series' images are {} x {}",
                stack.rows, stack.cols
            ),
        ));
    }
    let frames = opt_f64(obj, tags::NUMBER_OF_FRAMES, "Number of Frames", path)?.unwrap_or(1.0);
    let groups = items(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE);
    if frames.fract() != 0.0 || frames < 1.0 || groups.len() as f64 != frames {
        return Err(DicomError::invalid(
            path,
            format!(
                "{frames} frames but {} Per-frame Functional Groups items",
                groups.len()
            ),
        ));
    }
    let values = FrameValues::of(obj, path, groups.len(), (rows, cols))?;
    let mut acquired = Array3::<u8>::zeros((stack.cols, stack.rows, stack.slices));
    for f in 0..groups.len() {
        let frame_err =
            |what: String| DicomError::invalid(path, format!("frame {}: {what}", f + 1));
        let numbers =
            |macro_tag, tag, name| numbers_in(frame_group(obj, f, macro_tag), tag, name, path);
        let segment = numbers(
            tags::SEGMENT_IDENTIFICATION_SEQUENCE,
            tags::REFERENCED_SEGMENT_NUMBER,
            "Referenced Segment Number",
        )?;
        if !matches!(segment.as_deref(), Some(&[n]) if chosen.contains(&n)) {
            continue;
        }
        let orientation = numbers(
            tags::PLANE_ORIENTATION_SEQUENCE,
            tags::IMAGE_ORIENTATION_PATIENT,
            "Image Orientation (Patient)",
        )?;
        if !close(orientation.as_deref(), &series.image_orientation) {
            return Err(frame_err(
                "its orientation is not the series' (a segmentation of another series, or \
                 resampled?)"
                    .into(),
            ));
        }
        let spacing = numbers(
            tags::PIXEL_MEASURES_SEQUENCE,
            tags::PIXEL_SPACING,
            "Pixel Spacing",
        )?;
        if !close(spacing.as_deref(), &series.pixel_spacing) {
            return Err(frame_err("its pixel spacing is not the series'".into()));
        }
        let position = numbers(
            tags::PLANE_POSITION_SEQUENCE,
            tags::IMAGE_POSITION_PATIENT,
            "Image Position (Patient)",
        )?
        .filter(|p| p.len() == 3)
        .ok_or_else(|| frame_err("no Image Position (Patient)".into()))?;
        let k =
            slice_at([position[0], position[1], position[2]], series, &stack).map_err(frame_err)?;
        for row in 0..rows {
            for col in 0..cols {
                if values.inside(f, row * cols + col) {
                    let (i, j) = stack.voxel_of_pixel(row, col);
                    acquired[[i, j, k]] = 1;
                }
            }
        }
    }
    let map = grid_map(path, &stack, &grid.affine)?;
    Ok(GtvMask {
        mask: onto_grid(&acquired, &map, grid),
        names: picked.into_iter().map(|i| all[i].1.clone()).collect(),
    })
}

/// The numbers of attribute `tag` in a functional group macro's item, if it has them.
fn numbers_in(
    group: Option<&Obj>,
    tag: Tag,
    name: &'static str,
    path: &Path,
) -> Result<Option<Vec<f64>>, DicomError> {
    group.map_or(Ok(None), |g| opt_f64s(g, tag, name, path))
}

/// Whether a frame's orientation or pixel spacing is the series', to rounding.
fn close(frame: Option<&[f64]>, series: &[f64]) -> bool {
    frame.is_some_and(|f| {
        f.len() == series.len()
            && f.iter()
                .zip(series)
                .all(|(a, b)| (a - b).abs() <= DIRECTION_TOL * b.abs().max(1.0))
    })
}

/// The series slice a frame at `position` (LPS mm) lies on, or why it lies on none.
fn slice_at(position: [f64; 3], series: &SeriesRef, stack: &Stack) -> Result<usize, String> {
    let normal = stack.normal();
    let along =
        (dot(position, normal) - dot(series.image_positions[0], normal)) / stack.slice_spacing;
    let k = along.round();
    if (along - k).abs() > PLANE_TOL || k < 0.0 || k >= stack.slices as f64 {
        return Err(format!(
            "lies at slice {along:.2} of the series, not on one of its {} slices",
            stack.slices
        ));
    }
    let k = k as usize;
    let beside = sub(position, series.image_positions[k]);
    let off = norm(sub(beside, scale(normal, dot(beside, normal))));
    if off > IN_PLANE_TOL_MM {
        return Err(format!(
            "is shifted {off:.3} mm in plane from the series' slice"
        ));
    }
    Ok(k)
}

fn open_segmentation(path: &Path) -> Result<dicom_object::DefaultDicomObject, DicomError> {
    open_object_of_class(path, uids::SEGMENTATION_STORAGE, "a Segmentation")
}

/// (Segment Number, Segment Label) of every segment.
fn segments(obj: &Obj) -> Vec<(f64, String)> {
    items(obj, tags::SEGMENT_SEQUENCE)
        .iter()
        .filter_map(|s| {
            let number = s.get(tags::SEGMENT_NUMBER)?.value().to_float64().ok()?;
            Some((number, opt_str(s, tags::SEGMENT_LABEL).unwrap_or_default()))
        })
        .collect()
}

/// The frames' pixel values, decoded if compressed. Uncompressed BINARY segmentations pack one
/// bit a pixel across frames, first pixel in the lowest bit (PS3.5 8.1.1); FRACTIONAL ones, and
/// every decoded one, hold a byte a pixel.
struct FrameValues {
    bytes: Vec<u8>,
    pixels_per_frame: usize,
    /// One bit a pixel (an uncompressed BINARY segmentation), or one byte.
    packed: bool,
    /// The value from which a pixel is inside: 1 for BINARY, for FRACTIONAL half the maximum.
    threshold: u8,
}

impl FrameValues {
    fn of(
        obj: &DefaultDicomObject,
        path: &Path,
        frames: usize,
        (rows, cols): (usize, usize),
    ) -> Result<Self, DicomError> {
        let pixels_per_frame = rows * cols;
        let pixels = frames * pixels_per_frame;
        let kind = opt_str(obj, tags::SEGMENTATION_TYPE).unwrap_or_default();
        let threshold = match kind.as_str() {
            "BINARY" => 1,
            "FRACTIONAL" => {
                let max = opt_f64(
                    obj,
                    tags::MAXIMUM_FRACTIONAL_VALUE,
                    "Maximum Fractional Value",
                    path,
                )?
                .unwrap_or(255.0);
                (max / 2.0).ceil().clamp(1.0, 255.0) as u8
            }
            other => {
                return Err(DicomError::attribute(
                    path,
                    "Segmentation Type",
                    format!("'{other}' is not BINARY or FRACTIONAL"),
                ))
            }
        };
        let element = obj
            .get(tags::PIXEL_DATA)
            .ok_or_else(|| DicomError::MissingPixelData {
                path: path.to_path_buf(),
            })?;
        if element.value().fragments().is_some() {
            // Compressed (highdicom writes JPEG 2000 and RLE ones): decoded to a byte a pixel,
            // after the checks every compressed image gets, and no larger than a volume may be.
            if pixels as u64 > MAX_VOLUME_BYTES {
                return Err(DicomError::PixelData {
                    path: path.to_path_buf(),
                    reason: format!(
                        "{frames} frames of {rows} x {cols} exceed the {MAX_VOLUME_BYTES}-byte \
                         volume limit"
                    ),
                });
            }
            // A BINARY frame is compressed as a codestream of 1-bit samples (PS3.5 8.2;
            // highdicom writes JPEG 2000 ones), which dicom-pixeldata refuses under Bits
            // Allocated 1: the frames are decoded as byte samples, each then 0 or 1.
            let as_bytes;
            let source = if kind == "BINARY" {
                let mut copy = obj.clone();
                for (tag, value) in [
                    (tags::BITS_ALLOCATED, 8),
                    (tags::BITS_STORED, 8),
                    (tags::HIGH_BIT, 7),
                ] {
                    copy.put(us_elem(tag, value));
                }
                as_bytes = copy;
                &as_bytes
            } else {
                obj
            };
            let decoded = decode_pixels(source, rows, cols, frames, path)?;
            let bytes: Vec<u8> = decoded
                .to_vec_with_options(
                    &ConvertOptions::new().with_modality_lut(ModalityLutOption::None),
                )
                .map_err(|e| DicomError::PixelData {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })?;
            if bytes.len() != pixels {
                return Err(DicomError::PixelData {
                    path: path.to_path_buf(),
                    reason: format!("decoded {} values for {pixels} pixels", bytes.len()),
                });
            }
            return Ok(Self {
                bytes,
                pixels_per_frame,
                packed: false,
                threshold,
            });
        }
        let bytes = element
            .value()
            .to_bytes()
            .map_err(|e| DicomError::PixelData {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?
            .into_owned();
        let packed = kind == "BINARY";
        let needed = if packed { pixels.div_ceil(8) } else { pixels };
        if bytes.len() < needed {
            return Err(DicomError::PixelData {
                path: path.to_path_buf(),
                reason: format!("{} bytes, but the frames need {needed}", bytes.len()),
            });
        }
        Ok(Self {
            bytes,
            pixels_per_frame,
            packed,
            threshold,
        })
    }

    fn inside(&self, frame: usize, pixel: usize) -> bool {
        let at = frame * self.pixels_per_frame + pixel;
        if self.packed {
            self.bytes[at / 8] >> (at % 8) & 1 == 1
        } else {
            self.bytes[at] >= self.threshold
        }
    }
}
