//! The lesions of a predicted GTV, one row each, for the planner who reviews them: where each
//! lies (voxel and RAS millimetres of the input scan), how big it is and how sure the network
//! was. A radiosurgery plan treats every lesion as its own target, so a false one is removed
//! lesion by lesion; the lesion classifier's probability (or, without one, the network's peak)
//! tells which to look at first.

use crate::segment::ScanPrediction;
use mtsa_data::resample_mask;
use mtsa_io::Volume;
use mtsa_metrics::{connected_components_3d, equivalent_diameter_mm};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LesionSummary {
    /// 1 for the largest lesion, then by decreasing volume.
    pub number: usize,
    pub voxels: usize,
    pub volume_ml: f64,
    /// Diameter of the sphere of the same volume.
    pub equivalent_diameter_mm: f64,
    /// Mean voxel index (i, j, k) of the input scan.
    pub centroid_voxel: [f64; 3],
    /// The same point in the scan's world coordinates (NIfTI RAS+, mm).
    pub centroid_ras_mm: [f64; 3],
    /// Input slices (last index k) the lesion spans, first and last.
    pub slices: [usize; 2],
    /// Highest GTV probability inside the lesion on the network's grid (`None` if the lesion
    /// covers no grid pixel centre).
    pub peak_probability: Option<f32>,
    /// With a lesion classifier (`postprocess.json`): its probability that this is a lesion,
    /// the ranking to review by, since the network's peak saturates on vessels as on lesions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lesion_probability: Option<f64>,
    /// Its lesion probability is under the classifier's cut: no candidate of the scan reached
    /// the cut and the run keeps the most probable one all the same (`keep_most_probable` in
    /// `postprocess.json`), the likeliest metastasis of a scan assumed to show one. Review it
    /// first; on a scan without metastases it is false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub kept_below_cut: bool,
}

/// The lesions of a predicted GTV: their rows, and the mask's voxels labelled with the lesion's
/// `number` (0 outside), for writing each lesion as its own structure.
pub struct Lesions {
    pub list: Vec<LesionSummary>,
    pub labels: Volume<u32>,
}

impl Lesions {
    /// Lesion `number`'s voxels as a mask.
    pub fn mask(&self, number: usize) -> Volume<u8> {
        self.labels.map(|&l| u8::from(l as usize == number))
    }
}

/// Every 26-connected lesion of `scan.mask` (the mask `predict` writes), largest first.
pub fn lesion_list(scan: &ScanPrediction) -> Lesions {
    let mask = &scan.mask;
    let (labels, n) = connected_components_3d(mask.data.mapv(|v| v > 0).view());
    let mut sums = vec![(0usize, [0f64; 3], [usize::MAX, 0usize]); n];
    // Each lesion of a classified mask is one candidate: any of its voxels names it.
    let mut scores: Vec<Option<f64>> = vec![None; n];
    for ((i, j, k), &l) in labels.indexed_iter() {
        if l == 0 {
            continue;
        }
        if let Some(c) = &scan.candidates {
            let id = c.labels[[i, j, k]];
            if id != 0 {
                scores[l as usize - 1] = Some(c.probability[id as usize - 1]);
            }
        }
        let (count, sum, span) = &mut sums[l as usize - 1];
        *count += 1;
        for (s, v) in sum.iter_mut().zip([i, j, k]) {
            *s += v as f64;
        }
        *span = [span[0].min(k), span[1].max(k)];
    }
    let cut = scan.candidates.as_ref().map(|c| c.cut);
    let voxel_mm3: f64 = mask.spacing().iter().product();
    let peaks = peaks(scan, &labels, n);
    let mut rows: Vec<LesionSummary> = sums
        .into_iter()
        .enumerate()
        .map(|(l, (count, sum, span))| {
            let centroid = sum.map(|s| s / count as f64);
            let volume_mm3 = count as f64 * voxel_mm3;
            LesionSummary {
                number: 0,
                voxels: count,
                volume_ml: volume_mm3 / 1000.0,
                equivalent_diameter_mm: equivalent_diameter_mm(volume_mm3),
                centroid_voxel: centroid,
                centroid_ras_mm: world(&mask.affine, centroid),
                slices: span,
                peak_probability: peaks[l],
                lesion_probability: scores[l],
                kept_below_cut: scores[l].zip(cut).is_some_and(|(p, cut)| p < cut),
            }
        })
        .collect();
    // Largest first (ties in label order); each label renumbered as its row.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&l| std::cmp::Reverse(rows[l].voxels));
    let mut number_of = vec![0u32; rows.len()];
    for (position, &l) in order.iter().enumerate() {
        rows[l].number = position + 1;
        number_of[l] = position as u32 + 1;
    }
    rows.sort_by_key(|r| r.number);
    let labels = labels.mapv(|l| if l == 0 { 0 } else { number_of[l as usize - 1] });
    Lesions {
        list: rows,
        labels: Volume::new(labels, mask.affine),
    }
}

fn world(a: &mtsa_io::Affine, p: [f64; 3]) -> [f64; 3] {
    std::array::from_fn(|r| (0..3).map(|c| a[r][c] * p[c]).sum::<f64>() + a[r][3])
}

/// Per lesion (label `l + 1` at index `l`), the highest probability where the label map,
/// taken onto the network's grid as training masks are, holds it.
fn peaks(scan: &ScanPrediction, labels: &ndarray::Array3<u32>, n: usize) -> Vec<Option<f32>> {
    let on_grid = resample_mask(&Volume::new(labels.clone(), scan.mask.affine), &scan.geom);
    let mut peaks: Vec<Option<f32>> = vec![None; n];
    for (&l, &p) in on_grid.iter().zip(scan.prob.iter()) {
        if l != 0 {
            let top = &mut peaks[l as usize - 1];
            *top = Some(top.map_or(p, |t| t.max(p)));
        }
    }
    peaks
}
