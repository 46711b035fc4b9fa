//! A scan's lesion candidates on its own grid, each described by
//! [`FEATURE_NAMES`](super::FEATURE_NAMES).

use crate::contrast::Contrast;
use crate::look::brightest_voxels;
use crate::neighbourhood::{bounding_boxes, neighbourhood, BoundingBox};
use mtsa_io::Volume;
use mtsa_metrics::{connected_components_3d, distance_map_mm, percentile_linear};
use ndarray::{Array3, Zip};

/// Where the candidate's brightest voxel's contrast sits in a feature row.
const CONTRAST_MAX: usize = 2;

/// The percentile of a scan's candidates' brightest contrasts that each one's is measured
/// above ([`read_within_scan`]).
const SCAN_BRIGHTNESS_PERCENTILE: f64 = 95.0;

/// Voxels whose contrast ([`Contrast`]) exceeds this are candidates whatever the network says:
/// `p50 · (p90 / p50)²`, about 1.5 times the brain's median, above grey and white matter and
/// below enhancing tissue (1.3-2.2 times white matter). On seed 0's validation, test and
/// external patients it put a candidate on every lesion under 6 mm of the internal site and site
/// B and on 82% of site C's (4 mm slices), against 53-60% for the network's marks alone.
pub const BRIGHT_CONTRAST: f64 = 2.0;

/// The two shells around a candidate (mm from its nearest voxel): what touches it, and the
/// neighbourhood a few millimetres out (CSF around a vessel, parenchyma around a metastasis).
/// Only brain voxels (non-zero) count: with the background in, a metastasis against the brain's
/// surface looked like a vessel in CSF (seed 2's demo missed 3 of 22 test lesions of 6 mm or
/// more, their shells as dark as a vessel's); without, on the same weights, false lesions fell
/// or stayed in every row of three seeds and patient Dice rose in eight of nine
/// (`docs/whole-scan.md`).
const SHELLS_MM: [(f64, f64); 2] = [(0.0, 2.5), (2.5, 6.0)];
/// A candidate's volume enters the classifier up to that of an 8 mm sphere (268 mm³). Why: the
/// validation candidates are thousands of vessel pieces and a few dozen lesions, mostly small,
/// so the fit learns "larger, more likely a vessel tree" (-1.46 per sd on seed 1's demo run)
/// and, being linear, extrapolates it: site B's 22 mm metastasis (ln volume 5 sd above the
/// validation mean, network probability 0.94) lost 7.3 logits to its size alone, and two more
/// of 11-24 mm went with it. Above a few hundred mm³ the network's probability and the shells
/// tell a vessel tree from a metastasis; the volume only misleads. On the same weights of three
/// demo runs the cap found 18 of seed 1's 20 site-B lesions of 6 mm or more instead of 12
/// (patient Dice 0.684 -> 0.824); the other rows moved by one lesion at most and false lesions
/// fell or stayed in seven of nine. Caps of 180-270 mm³ gave the same; 113 mm³ (6 mm) changed
/// two seeds' cuts, 524 mm³ (10 mm) rescued half as many (`docs/whole-scan.md`).
const VOLUME_CAP_MM3: f64 = 4.0 / 3.0 * std::f64::consts::PI * 64.0;
/// Depth below the brain's surface is capped (an image with no background has no surface).
const MAX_DEPTH_MM: f64 = 200.0;

/// The candidates of one scan on its own grid.
pub struct Candidates {
    /// 0 outside every candidate, `n` inside candidate `n` (1-based, raster order).
    pub labels: Array3<u32>,
    /// One row of [`FEATURE_NAMES`](super::FEATURE_NAMES) per candidate (index `n - 1`).
    pub features: Vec<Vec<f64>>,
    /// Each candidate's brightest voxel (index `n - 1`), where its look is taken.
    pub brightest: Vec<[usize; 3]>,
    /// Per voxel, the network's probability there, or infinity where the voxel is bright
    /// enough to be a candidate on its own: a kept lesion's outline at `t` is its voxels above
    /// `t` ([`LesionClassifier::outline`](super::LesionClassifier::outline)).
    pub level: Array3<f32>,
}

/// Finds the candidates of `prob > segment` or contrast above `bright` (both maps on `image`'s
/// grid, `contrast` the image's) and describes each.
pub(crate) fn candidates(
    image: &Volume<f32>,
    contrast: &Contrast,
    prob: &Volume<f32>,
    segment: f32,
    bright: f64,
) -> Candidates {
    let spacing = image.spacing();
    let level = Zip::from(&prob.data)
        .and(&image.data)
        .map_collect(
            |&p, &v| match v != 0.0 && contrast.of_value(f64::from(v)) > bright {
                true => f32::INFINITY,
                false => p,
            },
        );
    let (labels, n) = connected_components_3d(level.mapv(|l| l > segment).view());
    let depth = distance_map_mm(image.data.mapv(|v| v == 0.0).view(), spacing);
    let voxel_mm3: f64 = spacing.iter().product();

    let mut stats = vec![Stats::default(); n];
    Zip::from(&labels)
        .and(&prob.data)
        .and(&image.data)
        .and(&depth)
        .for_each(|&l, &p, &v, &d| {
            if l != 0 {
                stats[l as usize - 1].add(p, v, d);
            }
        });
    let mut features: Vec<Vec<f64>> = stats
        .iter()
        .zip(bounding_boxes(&labels, n))
        .enumerate()
        .map(|(k, (st, bbox))| {
            let shells = shell_p10(&labels, k as u32 + 1, bbox, &image.data, spacing);
            vec![
                (st.voxels as f64 * voxel_mm3).min(VOLUME_CAP_MM3).ln(),
                st.prob_sum / st.voxels as f64,
                contrast.of_value(f64::from(st.max_intensity)),
                shells[0].map_or(0.0, |v| contrast.of_value(v)),
                shells[1].map_or(0.0, |v| contrast.of_value(v)),
                st.max_depth.min(MAX_DEPTH_MM).ln_1p(),
            ]
        })
        .collect();
    read_within_scan(&mut features);
    Candidates {
        brightest: brightest_voxels(&image.data, &labels, n),
        labels,
        features,
        level,
    }
}

/// Reads each candidate's brightness against the other candidates of its scan: appends to
/// every row the log of one plus the number of candidates whose brightest voxel is brighter
/// than its own ([`FEATURE_NAMES`](super::FEATURE_NAMES)' last), and measures its brightest
/// contrast above the scan's 95th percentile of them.
///
/// Why the rank: the contrast is measured against each scan's own median and 90th percentile,
/// yet a 3-4 mm metastasis and an enhancing vessel overlap in it across patients (bias field,
/// noise, partial volume), while within one scan the metastasis is most often the brightest
/// spot: on seed 0's demo, 8 of the 13 test lesions under 6 mm the classifier missed were
/// brighter than every candidate that is no lesion in their scan. A site whose vessels outshine
/// its metastases (real T1-CE can) gives the feature another weight when its validation
/// patients fit the classifier.
///
/// Why the percentile: a noisier site or a 4 mm slice moves every brightest voxel (the maximum
/// of more noise; the contrast's spread widened by noise and bias field), and site C's
/// metastases then sat at contrast 3.7 among a dozen of vessels at 3.7-3.9, below the 4.4 the
/// classifier learnt on the internal site. Measured above the scan's own bright structures, the
/// classifier refitted on the same candidates of four demo runs (docs/whole-scan.md) found more
/// lesions at every site in most rows; the 95th percentile kept the fewest false lesions of the
/// 50th-99th scored.
fn read_within_scan(features: &mut [Vec<f64>]) {
    let mut peaks: Vec<f64> = features.iter().map(|r| r[CONTRAST_MAX]).collect();
    let reference = percentile_linear(&peaks, SCAN_BRIGHTNESS_PERCENTILE).unwrap_or(0.0);
    peaks.sort_by(|a, b| b.total_cmp(a));
    for row in features.iter_mut() {
        let brighter = peaks.partition_point(|&p| p > row[CONTRAST_MAX]);
        row.push((brighter as f64).ln_1p());
        row[CONTRAST_MAX] -= reference;
    }
}

/// Running sums of one candidate.
#[derive(Clone)]
struct Stats {
    voxels: usize,
    prob_sum: f64,
    max_intensity: f32,
    max_depth: f64,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            voxels: 0,
            prob_sum: 0.0,
            max_intensity: f32::NEG_INFINITY,
            max_depth: 0.0,
        }
    }
}

impl Stats {
    fn add(&mut self, p: f32, v: f32, d: f64) {
        self.voxels += 1;
        self.prob_sum += f64::from(p);
        self.max_intensity = self.max_intensity.max(v);
        self.max_depth = self.max_depth.max(d);
    }
}

/// 10th percentile of the brain (non-zero) voxels in each of [`SHELLS_MM`] around candidate
/// `label`, measured in its neighbourhood out to the outer shell; `None` for a shell with no
/// brain voxel.
fn shell_p10(
    labels: &Array3<u32>,
    label: u32,
    bbox: BoundingBox,
    image: &Array3<f32>,
    spacing: [f64; 3],
) -> [Option<f64>; 2] {
    let around = neighbourhood(labels, image, label, bbox, spacing, SHELLS_MM[1].1);
    let mut shells: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    Zip::from(&around.distance_mm)
        .and(&around.image)
        .for_each(|&d, &v| {
            for (shell, &(a, b)) in shells.iter_mut().zip(&SHELLS_MM) {
                if v != 0.0 && d > a && d <= b {
                    shell.push(f64::from(v));
                }
            }
        });
    shells.map(|mut v| {
        v.sort_by(f64::total_cmp);
        percentile_linear(&v, 10.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contrast::CONTRAST_LIMIT;
    use mtsa_io::diagonal_affine;
    use ndarray::s;

    /// A 40 x 40 x 20 "brain" of 1 mm voxels at intensity 100 with a 90th percentile of 110
    /// (a bright band), holding a bright 3 x 3 x 3 blob (200) deep inside and a dimmer one
    /// (150) in a pool of dark "CSF" (30) at the edge; the probability map marks both.
    fn scan() -> (Volume<f32>, Volume<f32>) {
        let mut image = Array3::<f32>::from_elem((40, 40, 20), 100.0);
        image.slice_mut(s![0..4, .., ..]).fill(110.0);
        image.slice_mut(s![.., .., 0]).fill(0.0); // background: the brain's surface
        image.slice_mut(s![.., .., 19]).fill(0.0);
        image.slice_mut(s![18..21, 18..21, 9..12]).fill(200.0);
        image.slice_mut(s![30..40, 0..10, 1..8]).fill(30.0);
        image.slice_mut(s![34..37, 3..6, 2..5]).fill(150.0);
        image[[25, 30, 10]] = 180.0; // a bright spot the network does not mark
        let mut prob = Array3::<f32>::zeros((40, 40, 20));
        prob.slice_mut(s![18..21, 18..21, 9..12]).fill(0.9);
        prob.slice_mut(s![34..37, 3..6, 2..5]).fill(0.8);
        let affine = diagonal_affine([1.0; 3], [0.0; 3]);
        (Volume::new(image, affine), Volume::new(prob, affine))
    }

    #[test]
    fn candidates_are_described_on_the_scans_grid() {
        let (image, prob) = scan();
        // The network's marks alone (no voxel's contrast exceeds the clip).
        let contrast = Contrast::of(&image.data);
        let marked = candidates(&image, &contrast, &prob, 0.5, CONTRAST_LIMIT);
        assert_eq!(marked.features.len(), 2);
        let c = candidates(&image, &contrast, &prob, 0.5, BRIGHT_CONTRAST);
        assert_eq!(c.features.len(), 3);
        // Raster order: the spot (i = 25) lies between the two blobs, which it describes alike
        // but for their brightness, read against the scan's other candidates.
        let own = |r: &Vec<f64>| [r[0], r[1], r[3], r[4], r[5]];
        assert_eq!(
            [own(&c.features[0]), own(&c.features[2])],
            [own(&marked.features[0]), own(&marked.features[1])]
        );
        // Candidates brighter than each: deep blob (200) none, spot (180) one, edge blob (150)
        // two; without the spot, the edge blob has one.
        let rank = |f: &Vec<Vec<f64>>| f.iter().map(|r| r[6]).collect::<Vec<_>>();
        assert_eq!(rank(&c.features), [0.0, 1f64.ln_1p(), 2f64.ln_1p()]);
        assert_eq!(rank(&marked.features), [0.0, 1f64.ln_1p()]);
        // The unmarked spot: one voxel (1 mm³), probability 0.
        let spot = &c.features[1];
        assert!(spot[0].abs() < 1e-12 && spot[1] == 0.0, "{spot:?}");
        let (deep, edge) = (&c.features[0], &c.features[2]);
        assert!((deep[0] - 27f64.ln()).abs() < 1e-9, "{deep:?}");
        assert!((deep[1] - 0.9).abs() < 1e-6);
        // Brightest contrasts ln 2, ln 1.8 and ln 1.5 over ln 1.1 (deep, spot, edge), each
        // measured above the scan's 95th percentile of them: 0.9 of the way from the spot's
        // to the deep blob's with the spot, 0.95 from the edge's without.
        let spread = (110f64 / 100.0).ln();
        let raw = [
            2f64.ln() / spread,
            1.8f64.ln() / spread,
            1.5f64.ln() / spread,
        ];
        let p95 = raw[1] + 0.9 * (raw[0] - raw[1]);
        for (row, raw) in c.features.iter().zip(raw) {
            assert!((row[2] - (raw - p95)).abs() < 1e-6, "{row:?}");
        }
        let p95 = raw[2] + 0.95 * (raw[0] - raw[2]);
        assert!((marked.features[1][2] - (raw[2] - p95)).abs() < 1e-6);
        // The blob in CSF touches dark voxels, the deep one only parenchyma.
        assert!(
            edge[3] < -8.0 + 1e-9 && deep[3].abs() < 1e-9,
            "{edge:?} {deep:?}"
        );
        // Depth below the surface: the deep blob's farthest voxel is 9 mm from a background
        // slice, the edge blob's 4 mm (k = 2..4 above the background at k = 0).
        assert!((deep[5] - 9f64.ln_1p()).abs() < 1e-9);
        assert!((edge[5] - 4f64.ln_1p()).abs() < 1e-9);
    }

    #[test]
    fn a_candidate_counts_its_volume_up_to_an_8_mm_sphere() {
        // The deep blob's marks grown to 8 x 8 x 8 mm (512 mm³) count as 268 mm³; the edge
        // blob's 27 mm³ as they are.
        let (image, mut prob) = scan();
        prob.data.slice_mut(s![14..22, 14..22, 6..14]).fill(0.9);
        let c = candidates(
            &image,
            &Contrast::of(&image.data),
            &prob,
            0.5,
            CONTRAST_LIMIT,
        );
        let volumes: Vec<f64> = c.features.iter().map(|r| r[0].exp()).collect();
        assert_eq!(volumes.len(), 2);
        assert!((volumes[0] - 268.08).abs() < 0.01, "{volumes:?}");
        assert!((volumes[1] - 27.0).abs() < 1e-9, "{volumes:?}");
    }

    #[test]
    fn shells_count_brain_voxels_only() {
        // A 3 x 3 x 3 candidate against the background (k = 0 is outside the brain).
        let mut image = Array3::<f32>::from_elem((12, 12, 12), 100.0);
        image.slice_mut(s![.., .., 0]).fill(0.0);
        let mut labels = Array3::<u32>::zeros((12, 12, 12));
        labels.slice_mut(s![4..7, 4..7, 1..4]).fill(1);
        let bbox = bounding_boxes(&labels, 1)[0];
        // A fifth of the inner shell lies in the background; the brain around is uniform.
        let shells = shell_p10(&labels, 1, bbox, &image, [1.0; 3]);
        assert_eq!(shells, [Some(100.0), Some(100.0)]);
    }
}
