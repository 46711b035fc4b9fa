//! Sites (scanners). Each has its own acquisition, so external sites test how a model trained on
//! one scanner carries to others (the paper's external cohort), and its own span of diagnosis
//! dates, so the internal site can be split in time as the paper splits it.

use chrono::NaiveDate;
use serde::Serialize;

/// One site's acquisition and calendar. Values are fixed per site (a site is one protocol);
/// what varies per patient (bias-field shape, noise realisation, pose) comes from the patient's
/// own stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteProfile {
    /// `internal`, `site-b`, `site-c`: the `site` column of `clinical.csv`.
    pub name: String,
    /// Prefix of patient ids (`int-0001`, `site-b-0001`).
    pub id_prefix: String,
    /// External sites are test-only.
    pub external: bool,
    /// Intensity gamma applied to the white-matter-relative image (spec 0.8-1.25).
    pub gamma: f64,
    /// Amplitude of the smooth multiplicative bias field (spec 0-20%).
    pub bias_amplitude: f64,
    /// Rician noise sigma as a fraction of white matter (spec 1-5%).
    pub noise_sigma: f64,
    /// In-plane pixel spacing in mm (spec 0.8-1.0).
    pub in_plane_mm: f64,
    /// Slice thickness (= slice spacing) in mm (spec 1-5).
    pub slice_mm: f64,
    /// Scanner units of white matter: sites store intensities on different scales.
    pub intensity_scale: f64,
    /// Diagnosis dates, inclusive.
    pub first_date: NaiveDate,
    pub last_date: NaiveDate,
    /// Growth of referrals over the period: the density of dates rises linearly by this factor
    /// from the first to the last day (0 = uniform). The internal site uses 1 (twice as many
    /// patients a day at the end as at the start), which puts about a fifth of it after the
    /// paper's 2021-05-01 cutoff (the paper: 33 of 188); uniform dates would put 15% there.
    pub referral_growth: f64,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    // Literal calendar dates below; a wrong one is a programming error caught by the tests.
    NaiveDate::from_ymd_opt(y, m, d).expect("valid calendar date")
}

impl SiteProfile {
    /// The training site, acquired like the paper's (3 T, thin axial slices, mild bias, low
    /// noise); dates as the paper's internal cohort, August 2018 to October 2021.
    pub fn internal() -> Self {
        Self {
            name: "internal".into(),
            id_prefix: "int".into(),
            external: false,
            gamma: 1.0,
            bias_amplitude: 0.08,
            noise_sigma: 0.02,
            in_plane_mm: 0.9,
            slice_mm: 2.0,
            intensity_scale: 1000.0,
            first_date: date(2018, 8, 1),
            last_date: date(2021, 10, 31),
            referral_growth: 1.0,
        }
    }

    /// External site B: isotropic 1 mm, flatter contrast, stronger bias and noise.
    pub fn site_b() -> Self {
        Self {
            name: "site-b".into(),
            id_prefix: "site-b".into(),
            external: true,
            gamma: 0.85,
            bias_amplitude: 0.15,
            noise_sigma: 0.035,
            in_plane_mm: 1.0,
            slice_mm: 1.0,
            intensity_scale: 600.0,
            first_date: date(2019, 6, 1),
            last_date: date(2022, 5, 31),
            referral_growth: 0.0,
        }
    }

    /// External site C: fine in-plane but thick (4 mm) slices, steeper contrast, the strongest
    /// bias and noise: the hardest site, where the smallest lesions are hit by partial volume.
    pub fn site_c() -> Self {
        Self {
            name: "site-c".into(),
            id_prefix: "site-c".into(),
            external: true,
            gamma: 1.2,
            bias_amplitude: 0.20,
            noise_sigma: 0.045,
            in_plane_mm: 0.8,
            slice_mm: 4.0,
            intensity_scale: 1500.0,
            first_date: date(2020, 3, 1),
            last_date: date(2022, 12, 31),
            referral_growth: 0.0,
        }
    }

    /// Voxel size (mm) along i, j, k of this site's images (axial slices along k).
    pub fn spacing(&self) -> [f64; 3] {
        [self.in_plane_mm, self.in_plane_mm, self.slice_mm]
    }

    pub fn patient_id(&self, index: usize) -> String {
        format!("{}-{:04}", self.id_prefix, index + 1)
    }
}

/// The internal site followed by the two external ones, in the order a cohort lists them.
pub fn standard_sites() -> Vec<SiteProfile> {
    vec![
        SiteProfile::internal(),
        SiteProfile::site_b(),
        SiteProfile::site_c(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_keep_to_the_spec_ranges() {
        let sites = standard_sites();
        assert_eq!(sites.iter().filter(|s| s.external).count(), 2);
        for s in &sites {
            assert!((0.8..=1.25).contains(&s.gamma), "{}", s.name);
            assert!((0.0..=0.2).contains(&s.bias_amplitude));
            assert!((0.01..=0.05).contains(&s.noise_sigma));
            assert!((0.8..=1.0).contains(&s.in_plane_mm));
            assert!((1.0..=5.0).contains(&s.slice_mm));
            assert!(s.first_date < s.last_date);
        }
        assert_eq!(sites[0].patient_id(0), "int-0001");
        assert_eq!(sites[1].patient_id(41), "site-b-0042");
    }
}
