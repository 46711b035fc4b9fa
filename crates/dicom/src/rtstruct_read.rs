//! Reading an ROI (or the union of several) of an RT Structure Set as a mask on an image grid:
//! the NIfTI-path mask for the same contours (pixel centres inside the CLOSED_PLANAR contours,
//! even-odd rule).
//!
//! Contours that do not sit on the grid are errors rather than silently dropped or clipped: a
//! structure set drawn on another series (or a corrupted one) must not become a wrong mask.

use crate::bounded::open_object_of_class;
use crate::dataset::{items, opt_f64, opt_str, Obj};
use crate::derived::{grid_map, onto_grid};
use crate::geometry::{apply, invert, lps_ras, Stack};
use crate::names::{GtvMask, NameSelector};
use crate::raster::fill_even_odd;
use crate::{DicomError, SeriesRef};
use dicom_dictionary_std::{tags, uids};
use mtsa_io::Volume;
use ndarray::Array3;
use std::path::Path;

/// How far (in slice spacings) a contour may sit from a slice plane, and (in voxels) beyond the
/// outer pixel edges: rounding in planning systems, not misplaced contours.
const PLANE_TOL: f64 = 0.1;
const EDGE_TOL: f64 = 1e-3;

/// Names of the ROIs in a structure set, in file order.
pub fn list_rois(path: &Path) -> Result<Vec<String>, DicomError> {
    let obj = open_structure_set(path)?;
    Ok(roi_entries(&obj).into_iter().map(|r| r.name).collect())
}

/// Rasterises ROI `roi` onto `grid`: the volume `read_series` gave for `series` (or any axis
/// permutation/flip of it). `roi` is a name (case-insensitive), or several separated by commas,
/// `*` matching any run of characters (`GTV*`): the mask is then the union of every ROI named.
/// Only CLOSED_PLANAR contours carry area; POINT and OPEN_* contours are ignored. The mask is 1
/// inside, 0 outside, with the grid's affine.
pub fn read_rtstruct<T>(
    path: &Path,
    roi: &str,
    series: &SeriesRef,
    grid: &Volume<T>,
) -> Result<Volume<u8>, DicomError> {
    let obj = open_structure_set(path)?;
    Ok(rtstruct_mask(&obj, path, roi, series, grid)?.mask)
}

/// [`read_rtstruct`] on the structure set `obj`, opened from `path`, with the ROIs' names.
pub(crate) fn rtstruct_mask<T>(
    obj: &Obj,
    path: &Path,
    roi: &str,
    series: &SeriesRef,
    grid: &Volume<T>,
) -> Result<GtvMask, DicomError> {
    let entries = roi_entries(obj);
    let selector = NameSelector::parse(roi);
    let chosen = selector.select(entries.iter().map(|r| r.name.as_str()));
    if chosen.is_empty() {
        return Err(DicomError::RoiNotFound {
            path: path.to_path_buf(),
            roi: selector.text().to_string(),
            available: entries.into_iter().map(|r| r.name).collect(),
        });
    }
    let stack = series.stack().map_err(|r| DicomError::invalid(path, r))?;
    let map = grid_map(path, &stack, &grid.affine)?;
    // Contours lie on the images, so they are filled in the images' own (acquisition) order.
    let mut acquired = Array3::<u8>::zeros((stack.cols, stack.rows, stack.slices));
    for &i in &chosen {
        fill_roi(obj, path, &entries[i], series, &stack, &mut acquired)?;
    }
    Ok(GtvMask {
        mask: onto_grid(&acquired, &map, grid),
        names: chosen.iter().map(|&i| entries[i].name.clone()).collect(),
    })
}

/// Sets the voxels inside ROI `entry`'s contours in `acquired` (the acquisition grid), leaving
/// those other ROIs set: several ROIs make one GTV as their union, while the contours of one
/// ROI are filled together by the even-odd rule (so a ring's inner contour is a hole).
fn fill_roi(
    obj: &Obj,
    path: &Path,
    entry: &RoiEntry,
    series: &SeriesRef,
    stack: &Stack,
    acquired: &mut Array3<u8>,
) -> Result<(), DicomError> {
    let contour_err = |reason: String| DicomError::Contour {
        path: path.to_path_buf(),
        roi: entry.name.clone(),
        reason,
    };
    if let Some(frame) = &entry.frame_of_reference_uid {
        if *frame != series.frame_of_reference_uid {
            return Err(contour_err(format!(
                "drawn in frame of reference {frame}, but the series is in {}",
                series.frame_of_reference_uid
            )));
        }
    }
    let acq_affine = stack.affine();
    let to_index =
        invert(&acq_affine).ok_or_else(|| contour_err("the series' grid is singular".into()))?;
    let (ni, nj, nk) = (stack.cols, stack.rows, stack.slices);
    let mut per_slice: Vec<Vec<Vec<[f64; 2]>>> = vec![Vec::new(); nk];

    let roi_contours = items(obj, tags::ROI_CONTOUR_SEQUENCE).iter().filter(|c| {
        opt_f64(
            c,
            tags::REFERENCED_ROI_NUMBER,
            "Referenced ROI Number",
            path,
        )
        .ok()
        .flatten()
            == Some(entry.number)
    });
    let mut n = 0usize;
    for roi_contour in roi_contours {
        for contour in items(roi_contour, tags::CONTOUR_SEQUENCE) {
            n += 1;
            let kind = opt_str(contour, tags::CONTOUR_GEOMETRIC_TYPE).unwrap_or_default();
            if kind != "CLOSED_PLANAR" {
                continue;
            }
            let data = crate::dataset::opt_f64s(contour, tags::CONTOUR_DATA, "Contour Data", path)?
                .unwrap_or_default();
            if data.len() % 3 != 0 {
                return Err(contour_err(format!(
                    "contour {n}: Contour Data has {} values, not a multiple of 3",
                    data.len()
                )));
            }
            let declared = opt_f64(
                contour,
                tags::NUMBER_OF_CONTOUR_POINTS,
                "Number of Contour Points",
                path,
            )?;
            if declared.is_some_and(|d| d as usize != data.len() / 3) {
                return Err(contour_err(format!(
                    "contour {n}: Number of Contour Points disagrees with Contour Data"
                )));
            }
            if data.len() < 9 {
                continue; // fewer than 3 points enclose no area
            }
            let idx: Vec<[f64; 3]> = data
                .chunks_exact(3)
                .map(|p| apply(&to_index, lps_ras([p[0], p[1], p[2]])))
                .collect();
            let k_mean = idx.iter().map(|p| p[2]).sum::<f64>() / idx.len() as f64;
            let k = k_mean.round();
            if let Some(p) = idx.iter().find(|p| (p[2] - k).abs() > PLANE_TOL) {
                return Err(contour_err(format!(
                    "contour {n} does not lie on a slice of the series (slice index {:.2})",
                    p[2]
                )));
            }
            if k < 0.0 || k >= nk as f64 {
                return Err(contour_err(format!(
                    "contour {n} lies outside the series' slice range (slice index {k})"
                )));
            }
            let outside = |v: f64, n: usize| v < -0.5 - EDGE_TOL || v > n as f64 - 0.5 + EDGE_TOL;
            if let Some(p) = idx.iter().find(|p| outside(p[0], ni) || outside(p[1], nj)) {
                return Err(contour_err(format!(
                    "contour {n} has a point outside the series' extent (voxel {:.1}, {:.1})",
                    p[0], p[1]
                )));
            }
            per_slice[k as usize].push(idx.iter().map(|p| [p[0], p[1]]).collect());
        }
    }

    for (k, polys) in per_slice.iter().enumerate() {
        if polys.is_empty() {
            continue;
        }
        let inside = fill_even_odd(polys, ni, nj);
        for j in 0..nj {
            for i in 0..ni {
                if inside[i + ni * j] {
                    acquired[[i, j, k]] = 1;
                }
            }
        }
    }
    Ok(())
}

struct RoiEntry {
    number: f64,
    name: String,
    frame_of_reference_uid: Option<String>,
}

fn open_structure_set(path: &Path) -> Result<dicom_object::DefaultDicomObject, DicomError> {
    open_object_of_class(path, uids::RT_STRUCTURE_SET_STORAGE, STRUCTURE_SET)
}

/// How an error names a structure set.
pub(crate) const STRUCTURE_SET: &str = "an RT Structure Set";

fn roi_entries(obj: &Obj) -> Vec<RoiEntry> {
    items(obj, tags::STRUCTURE_SET_ROI_SEQUENCE)
        .iter()
        .filter_map(|r| {
            let number = r.get(tags::ROI_NUMBER)?.value().to_float64().ok()?;
            Some(RoiEntry {
                number,
                name: opt_str(r, tags::ROI_NAME).unwrap_or_default(),
                frame_of_reference_uid: opt_str(r, tags::REFERENCED_FRAME_OF_REFERENCE_UID),
            })
        })
        .collect()
}
