//! Clinical variables of `clinical.csv`: the EGFR label, the diagnosis date that drives the
//! temporal split, the site, and age / sex / smoking drawn like the paper's Table 1 (median age
//! 57, range 46-78; 58% male; 38% smokers). Age, sex and smoking are independent of EGFR here:
//! the truth lives in the images only, as the model sees only images.

use crate::egfr::Egfr;
use crate::rng::normal_pair;
use crate::site::SiteProfile;
use crate::SynthError;
use chrono::{Days, NaiveDate};
use rand::Rng;
use serde::Serialize;
use std::path::Path;

const AGE_MEAN: f64 = 57.5;
const AGE_SD: f64 = 7.5;
const AGE_RANGE: (f64, f64) = (42.0, 82.0);
const P_MALE: f64 = 0.585;
const P_SMOKER: f64 = 0.378;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Sex {
    #[serde(rename = "M")]
    Male,
    #[serde(rename = "F")]
    Female,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "M",
            Sex::Female => "F",
        }
    }
}

/// One row of `clinical.csv`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClinicalRow {
    pub patient_id: String,
    pub egfr: Egfr,
    pub diagnosis_date: NaiveDate,
    pub site: String,
    pub age: u32,
    pub sex: Sex,
    pub smoking: bool,
}

impl ClinicalRow {
    /// Everything but the label, which comes from the phenotype.
    pub(crate) fn draw(rng: &mut impl Rng, site: &SiteProfile, id: String, egfr: Egfr) -> Self {
        let diagnosis_date = draw_date(rng, site);
        let (z, _) = normal_pair(rng);
        let age = (AGE_MEAN + AGE_SD * z)
            .clamp(AGE_RANGE.0, AGE_RANGE.1)
            .round() as u32;
        let sex = if rng.random_bool(P_MALE) {
            Sex::Male
        } else {
            Sex::Female
        };
        let smoking = rng.random_bool(P_SMOKER);
        Self {
            patient_id: id,
            egfr,
            diagnosis_date,
            site: site.name.clone(),
            age,
            sex,
            smoking,
        }
    }
}

/// A date in the site's span whose density rises linearly by `referral_growth` over it
/// (inverse-CDF sampling of the density 1 + g t on t in [0, 1]).
fn draw_date(rng: &mut impl Rng, site: &SiteProfile) -> NaiveDate {
    let span = (site.last_date - site.first_date).num_days().max(0) as f64;
    let u: f64 = rng.random();
    let g = site.referral_growth;
    let t = if g.abs() < 1e-9 {
        u
    } else {
        ((1.0 + 2.0 * g * u * (1.0 + g / 2.0)).sqrt() - 1.0) / g
    };
    let days = (t * (span + 1.0)).floor().min(span) as u64;
    site.first_date + Days::new(days)
}

/// Writes the table with the header `patient_id,egfr,diagnosis_date,site,age,sex,smoking`.
pub(crate) fn write_clinical(path: &Path, rows: &[ClinicalRow]) -> Result<(), SynthError> {
    let mut w = csv::Writer::from_path(path).map_err(|e| SynthError::write(path, e))?;
    w.write_record([
        "patient_id",
        "egfr",
        "diagnosis_date",
        "site",
        "age",
        "sex",
        "smoking",
    ])
    .map_err(|e| SynthError::write(path, e))?;
    for r in rows {
        let date = r.diagnosis_date.format("%Y-%m-%d").to_string();
        let age = r.age.to_string();
        let smoking = if r.smoking { "yes" } else { "no" };
        w.write_record([
            r.patient_id.as_str(),
            r.egfr.as_str(),
            &date,
            &r.site,
            &age,
            r.sex.as_str(),
            smoking,
        ])
        .map_err(|e| SynthError::write(path, e))?;
    }
    w.flush().map_err(|e| SynthError::file(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn internal_dates_put_about_a_fifth_after_the_cutoff() {
        let site = SiteProfile::internal();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let cutoff = NaiveDate::from_ymd_opt(2021, 5, 1).expect("date");
        let n = 20_000;
        let mut late = 0;
        for _ in 0..n {
            let d = draw_date(&mut rng, &site);
            assert!(d >= site.first_date && d <= site.last_date);
            late += usize::from(d >= cutoff);
        }
        let frac = late as f64 / n as f64;
        assert!((0.18..0.22).contains(&frac), "fraction after cutoff {frac}");
    }

    #[test]
    fn demographics_follow_table_1() {
        let site = SiteProfile::internal();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let rows: Vec<ClinicalRow> = (0..5000)
            .map(|i| ClinicalRow::draw(&mut rng, &site, format!("p{i}"), Egfr::Wild))
            .collect();
        let mut ages: Vec<u32> = rows.iter().map(|r| r.age).collect();
        ages.sort_unstable();
        assert!((56..=58).contains(&ages[ages.len() / 2]));
        let male = rows.iter().filter(|r| r.sex == Sex::Male).count() as f64 / 5000.0;
        let smokers = rows.iter().filter(|r| r.smoking).count() as f64 / 5000.0;
        assert!((male - P_MALE).abs() < 0.03 && (smokers - P_SMOKER).abs() < 0.03);
    }
}
