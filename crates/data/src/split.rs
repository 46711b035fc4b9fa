//! Patient-level split (spec §4): internal patients diagnosed after the cutoff form `test`, a
//! seeded random `val_patients` of the rest form `val`, the rest `train`; each other site is its
//! own test-only set `external-<site>`. Splitting by patient, never by slice, keeps slices of
//! one patient from leaking between train and test. A splits file overrides all of this for
//! cohorts without dates.

use crate::DataError;
use chrono::NaiveDate;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// What the split needs to know of one patient.
#[derive(Debug, Clone)]
pub struct SplitInput {
    pub id: String,
    /// Empty = the internal site.
    pub site: String,
    pub diagnosis_date: Option<NaiveDate>,
}

/// The site treated as internal: the one called `internal` if any, else the most frequent
/// (ties broken alphabetically so the choice is reproducible); `internal` when there are none.
pub fn internal_site(patients: &[SplitInput]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for p in patients.iter().filter(|p| !p.site.is_empty()) {
        *counts.entry(p.site.as_str()).or_default() += 1;
    }
    if counts.contains_key("internal") || counts.is_empty() {
        return "internal".into();
    }
    let max = counts.values().copied().max().unwrap_or(0);
    counts
        .into_iter()
        .find(|(_, n)| *n == max)
        .map(|(s, _)| s.to_string())
        .unwrap_or_else(|| "internal".into())
}

/// Split name of an external site, safe as a file name.
pub fn external_split_name(site: &str) -> String {
    let clean: String = site
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("external-{clean}")
}

/// Split names become file names; keep them to a safe alphabet.
pub fn valid_split_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Assignment by date and seed. Returns patient id -> split name, and warnings for the summary.
pub fn assign_by_date(
    patients: &[SplitInput],
    cutoff: NaiveDate,
    val_patients: usize,
    seed: u64,
    clinical: Option<&Path>,
) -> Result<(BTreeMap<String, String>, Vec<String>), DataError> {
    let internal = internal_site(patients);
    let mut out = BTreeMap::new();
    let mut warnings = Vec::new();
    let is_internal = |p: &SplitInput| p.site.is_empty() || p.site == internal;
    let internal_pts: Vec<&SplitInput> = patients.iter().filter(|p| is_internal(p)).collect();
    let mut external_names: BTreeMap<String, &str> = BTreeMap::new();
    for p in patients.iter().filter(|p| !is_internal(p)) {
        let name = external_split_name(&p.site);
        // Two site spellings that map to one file name would silently merge two test sets.
        if let Some(other) = external_names.insert(name.clone(), &p.site) {
            if other != p.site {
                return Err(DataError::Config(format!(
                    "sites {other:?} and {:?} both become split {name:?}; rename one",
                    p.site
                )));
            }
        }
        out.insert(p.id.clone(), name);
    }

    let dated = internal_pts
        .iter()
        .filter(|p| p.diagnosis_date.is_some())
        .count();
    if dated > 0 && dated < internal_pts.len() {
        let missing = internal_pts
            .iter()
            .find(|p| p.diagnosis_date.is_none())
            .map(|p| p.id.clone())
            .unwrap_or_default();
        let reason = format!(
            "patient {missing:?} has no diagnosis_date, needed to split by the cutoff \
             (give every internal patient a date, or pass a splits file)"
        );
        return Err(match clinical {
            Some(path) => DataError::invalid(path, reason),
            None => DataError::Config(reason),
        });
    }
    if dated == 0 {
        warnings.push(
            "no diagnosis dates: the internal test set is empty (pass a splits file to hold \
             out test patients)"
                .to_string(),
        );
    }

    let mut pool: Vec<&str> = Vec::new();
    for p in &internal_pts {
        match p.diagnosis_date {
            Some(d) if d > cutoff => {
                out.insert(p.id.clone(), "test".into());
            }
            _ => pool.push(&p.id),
        }
    }
    pool.sort_unstable();
    if val_patients >= pool.len() && !(pool.is_empty() && val_patients == 0) {
        return Err(DataError::Config(format!(
            "cannot hold out {val_patients} validation patients from {} internal patients \
             diagnosed on or before {cutoff} (at least one must remain for training)",
            pool.len()
        )));
    }
    pool.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    for (n, id) in pool.into_iter().enumerate() {
        let split = if n < val_patients { "val" } else { "train" };
        out.insert(id.to_string(), split.into());
    }
    Ok((out, warnings))
}

/// Reads `{"train": [ids], "val": [ids], "test": [ids], ...}` and checks it against the
/// cohort: every patient exactly once, no unknown ids.
pub fn assign_from_file(
    path: &Path,
    patient_ids: &[String],
) -> Result<BTreeMap<String, String>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    let file: BTreeMap<String, Vec<String>> = serde_json::from_str(&text).map_err(|e| {
        DataError::invalid(
            path,
            format!("not a JSON object of split name -> list of patient ids ({e})"),
        )
    })?;
    let known: HashMap<&str, ()> = patient_ids.iter().map(|id| (id.as_str(), ())).collect();
    let mut out = BTreeMap::new();
    for (split, ids) in &file {
        if !valid_split_name(split) {
            return Err(DataError::invalid(
                path,
                format!("split name {split:?} may only use letters, digits, '-' and '_'"),
            ));
        }
        for id in ids {
            if !known.contains_key(id.as_str()) {
                return Err(DataError::invalid(
                    path,
                    format!("patient {id:?} (split {split:?}) is not in the cohort"),
                ));
            }
            if let Some(prev) = out.insert(id.clone(), split.clone()) {
                return Err(DataError::invalid(
                    path,
                    format!("patient {id:?} is in both {prev:?} and {split:?}"),
                ));
            }
        }
    }
    if let Some(missing) = patient_ids.iter().find(|id| !out.contains_key(*id)) {
        return Err(DataError::invalid(
            path,
            format!("patient {missing:?} of the cohort is in no split"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(id: &str, site: &str, date: Option<&str>) -> SplitInput {
        SplitInput {
            id: id.into(),
            site: site.into(),
            diagnosis_date: date.map(|d| d.parse().unwrap()),
        }
    }

    #[test]
    fn internal_site_choice() {
        let a = [pt("1", "a", None), pt("2", "b", None), pt("3", "b", None)];
        assert_eq!(internal_site(&a), "b");
        let b = [
            pt("1", "internal", None),
            pt("2", "b", None),
            pt("3", "b", None),
        ];
        assert_eq!(internal_site(&b), "internal");
        assert_eq!(internal_site(&[pt("1", "", None)]), "internal");
    }

    #[test]
    fn by_date_and_seed() {
        let cutoff: NaiveDate = "2021-05-01".parse().unwrap();
        let mut pts: Vec<_> = (0..20)
            .map(|i| pt(&format!("p{i:02}"), "h", Some("2020-01-01")))
            .collect();
        pts.push(pt("late", "h", Some("2021-06-01")));
        pts.push(pt("edge", "h", Some("2021-05-01")));
        pts.push(pt("ext", "Other Site", Some("2019-01-01")));
        let (a, _) = assign_by_date(&pts, cutoff, 5, 7, None).unwrap();
        assert_eq!(a["late"], "test");
        assert_ne!(a["edge"], "test");
        assert_eq!(a["ext"], "external-other_site");
        assert_eq!(a.values().filter(|s| *s == "val").count(), 5);
        assert_eq!(a.values().filter(|s| *s == "train").count(), 16);
        // Same seed, shuffled input order: same assignment.
        pts.reverse();
        let (b, _) = assign_by_date(&pts, cutoff, 5, 7, None).unwrap();
        assert_eq!(a, b);
        let (c, _) = assign_by_date(&pts, cutoff, 5, 8, None).unwrap();
        assert_ne!(a, c);
        assert!(assign_by_date(&pts, cutoff, 21, 7, None).is_err());
        pts.push(pt("ext2", "other site", Some("2019-01-01")));
        assert!(assign_by_date(&pts, cutoff, 5, 7, None).is_err());
    }

    #[test]
    fn mixed_missing_dates_are_an_error() {
        let cutoff: NaiveDate = "2021-05-01".parse().unwrap();
        let pts = [pt("a", "", Some("2020-01-01")), pt("b", "", None)];
        assert!(assign_by_date(&pts, cutoff, 0, 0, None).is_err());
    }
}
