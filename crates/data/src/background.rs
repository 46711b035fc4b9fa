//! A scan's background at zero and its brain above it, as every reader hands the scan on: a
//! skull-stripped scan's constant background shifted to 0, everything outside a brain mask set
//! to 0, and a brain normalised into negative values raised to start at 0.

use mtsa_io::Volume;
use std::path::Path;

/// Share of a scan's voxels its lowest value must fill to be taken as a background: a brain
/// holds no value on so many voxels (the BRATS 2013 cases' background fills 81-88% of their
/// volume, the synthetic cohort's about 58%).
const BACKGROUND_SHARE: f64 = 0.1;

/// The scan read from `source` as the pipeline reads every scan: its constant background
/// shifted to 0 ([`shifted`]), then, with a `brain` mask (on the scan's grid), every voxel
/// outside it set to 0, so that the nonzero voxels are the brain for the preprocessing and the
/// lesion classifier alike, on a scan that is not skull-stripped too; last, a brain with
/// negative values raised to start at 0 ([`brain_raised`]). The log says when a background
/// was moved or a brain raised.
pub(crate) fn zero_background(
    image: Volume<f32>,
    brain: Option<&Volume<u8>>,
    source: &Path,
) -> Volume<f32> {
    let (mut image, background) = shifted(image);
    if let Some(b) = background {
        tracing::info!(
            "{}: its lowest value {b} fills a tenth or more of the volume, taken as the \
             background and shifted to 0",
            source.display()
        );
    }
    if let Some(brain) = brain {
        ndarray::Zip::from(&mut image.data)
            .and(&brain.data)
            .for_each(|v, &b| {
                if b == 0 {
                    *v = 0.0;
                }
            });
    }
    if let Some(lowest) = brain_raised(&mut image) {
        tracing::info!(
            "{}: its brain holds values down to {lowest} (intensity-normalised, e.g. z-scored \
             with the background at 0): raised so that its darkest voxel is 0",
            source.display()
        );
    }
    image
}

/// The most a skull-stripped scan's nonzero region may hold, in ml. Adult intracranial volumes
/// stay under about 2 L (the BRATS 2013 cases' brain masks hold 1.08-1.69 L, the MNI152 and
/// Colin27 templates' brains 1.89 and 1.74 L); the synthetic cohort's scans, its template
/// scaled by up to 1.08, hold up to 2.51 L. A head scan whose air is stored as exact zeros
/// holds far more: Colin27 with its scalp (MRIcron's `ch2.nii.gz`), 4.15 L at 42% zeros.
pub const MAX_BRAIN_ML: f64 = 3000.0;

/// Why a scan, as [`crate::scan_as_read`] hands it on, does not look skull-stripped, or `None`
/// when it does: under a tenth of its voxels (the share [`BACKGROUND_SHARE`] a background must
/// fill) at 0, as in a head scan whose air is noise (the synthetic cohort's scans hold about 58%
/// zeros, the BRATS cases 81-88%), or a nonzero region larger than any brain
/// ([`MAX_BRAIN_ML`]), as in a head scan whose air is exact zeros. Why it matters: the network
/// and the lesion classifier learnt from skull-stripped scans, and everything downstream takes
/// the nonzero voxels as the brain, so on a head scan scalp and fat become brain and bright fat
/// becomes lesions.
pub fn not_skull_stripped(image: &Volume<f32>) -> Option<String> {
    let zeros = image.data.iter().filter(|&&v| v == 0.0).count();
    if (zeros as f64) < BACKGROUND_SHARE * image.data.len() as f64 {
        return Some("under a tenth of the scan is background at 0".into());
    }
    let voxel_ml = image.spacing().iter().product::<f64>() / 1000.0;
    let nonzero_ml = (image.data.len() - zeros) as f64 * voxel_ml;
    (nonzero_ml > MAX_BRAIN_ML).then(|| {
        format!(
            "its nonzero region holds {:.1} L, more than the {:.1} L a brain stays under",
            nonzero_ml / 1000.0,
            MAX_BRAIN_ML / 1000.0
        )
    })
}

/// Raises a brain (the nonzero voxels) that holds negative values so that its darkest voxel is
/// 0, the background staying 0; the darkest value, or `None` when nothing was negative.
///
/// Why: a scan z-scored inside its brain and given a background of 0 (as nnU-Net-style
/// preprocessing leaves it) has a brain that is 40% negative, where the lesion classifier's
/// contrast, a ratio to the brain's median, means nothing: on BRATS case 1 so prepared the
/// demo's model kept no lesion at all (tumour core Dice 0 against 0.571 on the same case
/// unnormalised). A T1's darkest brain voxels (CSF) lie near the scanner's 0, so raising the
/// darkest to 0 gives back nearly the raw scan over its standard deviation, as [`shifted`]
/// does for a z-scored background. Magnitude MR intensities are never negative: any other scan
/// is untouched.
fn brain_raised(image: &mut Volume<f32>) -> Option<f32> {
    let lowest = image.data.iter().copied().fold(f32::INFINITY, f32::min);
    if lowest >= 0.0 || !lowest.is_finite() {
        return None;
    }
    image
        .data
        .mapv_inplace(|v| if v == 0.0 { 0.0 } else { v - lowest });
    Some(lowest)
}

/// The scan with its background at zero, and the value that was taken as background (`None`
/// when the scan is returned as it came).
///
/// Everything downstream takes the nonzero voxels as the brain and reads intensities as
/// ratios to the brain's median (`crate::preprocess`, and the lesion classifier's contrast in
/// `mtsa-eval`), as on the synthetic cohort and BraTS-style data, whose background is 0. A scan
/// z-scored after skull stripping (the BRATS 2013 cases' `T1c_subtrMeanDivStd`) has its
/// background at `-mean / sd` instead: its every voxel is then "brain" (`predict` ran the
/// network on all 155 slices of such a case and kept 169 lesions) and its brain is half
/// negative. When the scan's lowest value fills at least [`BACKGROUND_SHARE`] of its voxels it
/// is such a background, and every voxel is shifted by it: for a z-scored scan that gives back
/// the raw scan divided by its standard deviation, since the raw background was 0. A scan whose
/// lowest value is 0, or fills fewer voxels (noise in a scan that is not skull-stripped, a
/// single darkest voxel), is returned unchanged.
fn shifted(mut image: Volume<f32>) -> (Volume<f32>, Option<f32>) {
    let lowest = image.data.iter().copied().fold(f32::INFINITY, f32::min);
    if lowest == 0.0 || !lowest.is_finite() {
        return (image, None);
    }
    let filled = image.data.iter().filter(|&&v| v == lowest).count();
    if (filled as f64) < BACKGROUND_SHARE * image.data.len() as f64 {
        return (image, None);
    }
    image.data.mapv_inplace(|v| v - lowest);
    (image, Some(lowest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    fn scan(background: f32, brain: &[f32]) -> Volume<f32> {
        let mut data = Array3::from_elem((4, 4, 4), background);
        for (v, b) in data.iter_mut().zip(brain) {
            *v = *b;
        }
        Volume::new(data, mtsa_io::diagonal_affine([1.0; 3], [0.0; 3]))
    }

    /// A z-scored scan's background (48 of 64 voxels at -2) becomes 0 and its brain the raw
    /// intensities over the standard deviation: every voxel moves by the same 2.
    #[test]
    fn a_constant_lowest_background_is_shifted_to_zero() {
        let brain: Vec<f32> = (0..16).map(|i| -1.5 + 0.25 * i as f32).collect();
        let (out, background) = shifted(scan(-2.0, &brain));
        assert_eq!(background, Some(-2.0));
        let zeros = out.data.iter().filter(|&&v| v == 0.0).count();
        assert_eq!(zeros, 48);
        let first: Vec<f32> = out.data.iter().take(16).copied().collect();
        let expected: Vec<f32> = brain.iter().map(|v| v + 2.0).collect();
        assert_eq!(first, expected);
    }

    /// A zero background, a lowest value on too few voxels, and a scan without a constant
    /// background come back unchanged.
    #[test]
    fn other_scans_are_left_as_they_are() {
        let brain: Vec<f32> = (1..=16).map(|i| i as f32).collect();
        let zero = scan(0.0, &brain);
        assert_eq!(shifted(zero.clone()), (zero, None));
        // 6 of 64 voxels (under a tenth) at the lowest value -3: a dark brain, not a background.
        let mut few: Vec<f32> = vec![-3.0; 6];
        few.extend((0..58).map(|i| i as f32 + 1.0));
        let dark = scan(0.0, &few);
        assert_eq!(shifted(dark.clone()), (dark, None));
    }

    /// A brain z-scored with the background at 0 (values -1.5 to 2.25) is raised to start at
    /// 0: every brain voxel moves by 1.5, the background stays 0, and the darkest brain voxel
    /// joins it. A raw scan (no negative value) is untouched.
    #[test]
    fn a_negative_brain_is_raised_to_start_at_zero() {
        let brain: Vec<f32> = (0..16).map(|i| -1.5 + 0.25 * i as f32).collect();
        let out = zero_background(scan(0.0, &brain), None, Path::new("z.nii.gz"));
        let first: Vec<f32> = out.data.iter().take(16).copied().collect();
        // The voxel at exactly 0 (i = 6) was background to begin with and stays 0.
        let expected: Vec<f32> = brain
            .iter()
            .map(|&v| if v == 0.0 { 0.0 } else { v + 1.5 })
            .collect();
        assert_eq!(first, expected);
        assert!(out.data.iter().skip(16).all(|&v| v == 0.0));
        let raw: Vec<f32> = (1..=16).map(|i| i as f32).collect();
        let scan_raw = scan(0.0, &raw);
        assert_eq!(
            zero_background(scan_raw.clone(), None, Path::new("raw.nii.gz")),
            scan_raw
        );
    }

    /// A scan with a zero background looks skull-stripped; one whose every voxel holds noise
    /// (a head scan's air) does not, until a brain mask zeroes what lies outside the brain; nor
    /// does one whose nonzero region is larger than a brain (air stored as exact zeros).
    #[test]
    fn a_scan_without_a_zero_background_or_with_a_head_sized_one_does_not_look_skull_stripped() {
        let stripped = |v: &Volume<f32>| not_skull_stripped(v).is_none();
        let brain: Vec<f32> = (1..=16).map(|i| i as f32).collect();
        assert!(stripped(&scan(0.0, &brain)));
        let head = scan(0.5, &brain);
        let read = zero_background(head.clone(), None, Path::new("head.nii.gz"));
        // The lowest value 0.5 fills 48 of 64 voxels: a background, shifted to 0.
        assert!(stripped(&read));
        let mut noisy = head;
        for (n, v) in noisy.data.iter_mut().enumerate().skip(16) {
            *v = 2.0 + (n % 7) as f32 * 0.1;
        }
        let read = zero_background(noisy.clone(), None, Path::new("head.nii.gz"));
        let why = not_skull_stripped(&read).expect("noise for air");
        assert!(why.contains("under a tenth"), "{why}");
        let mask = noisy.map(|&v| u8::from((1.0..=16.0).contains(&v) && v.fract() == 0.0));
        let read = zero_background(noisy, Some(&mask), Path::new("head.nii.gz"));
        assert!(stripped(&read));
        // 16 nonzero voxels of 50 x 60 x 60 mm: 2.88 L passes, 60 mm more one way (3.46 L) not.
        let mut large = scan(0.0, &brain);
        large.affine = mtsa_io::diagonal_affine([50.0, 60.0, 60.0], [0.0; 3]);
        assert!(stripped(&large));
        large.affine = mtsa_io::diagonal_affine([50.0, 60.0, 72.0], [0.0; 3]);
        let why = not_skull_stripped(&large).expect("a head-sized nonzero region");
        assert!(why.contains("3.5 L"), "{why}");
    }

    /// With a brain mask, a z-scored scan's background is shifted to 0 and every voxel outside
    /// the mask is 0 too, whatever it held (here a bright scalp voxel); the brain inside, no
    /// longer negative, is not raised.
    #[test]
    fn outside_the_brain_mask_is_zero() {
        let brain: Vec<f32> = (0..16).map(|i| -1.5 + 0.25 * i as f32).collect();
        let mut image = scan(-2.0, &brain);
        image.data[[3, 3, 3]] = 5.0;
        let mask = image.map(|&v| u8::from(v < 0.0 && v > -2.0));
        let out = zero_background(image, Some(&mask), Path::new("scan.nii.gz"));
        assert_eq!(out.data[[3, 3, 3]], 0.0);
        let kept: Vec<f32> = out.data.iter().copied().filter(|&v| v != 0.0).collect();
        assert_eq!(kept, vec![0.5, 0.75, 1.0, 1.25, 1.5, 1.75]);
    }
}
