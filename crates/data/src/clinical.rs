//! `clinical.csv`: per patient the EGFR status, diagnosis date and site that drive the labels
//! and the split. Parsing is strict (a typo in a date would silently move a patient between
//! train and test), and each error names the file and line.

use crate::DataError;
use chrono::NaiveDate;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// One row of the clinical table.
#[derive(Debug, Clone, PartialEq)]
pub struct ClinicalRecord {
    pub patient_id: String,
    /// 1 = mutant, 0 = wild type, None = not known (the patient then trains segmentation only).
    pub egfr: Option<u8>,
    pub diagnosis_date: Option<NaiveDate>,
    /// Empty when the table has no site column or the cell is empty.
    pub site: String,
    /// Any other columns (age, sex, smoking, ...), kept verbatim for reports.
    pub extra: BTreeMap<String, String>,
}

/// Parsed table, in file order.
#[derive(Debug, Clone, Default)]
pub struct Clinical {
    pub records: Vec<ClinicalRecord>,
    pub has_site_column: bool,
}

/// The class index (1 = mutant) of an EGFR cell, in any spelling [`crate::Egfr`] accepts;
/// empty means unknown.
pub fn parse_egfr(s: &str) -> Result<Option<u8>, String> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    s.parse::<crate::Egfr>().map(|e| Some(e.class()))
}

/// ISO dates (`2021-05-01`), also `2021/05/01` and `20210501`; empty means unknown.
pub fn parse_date(s: &str) -> Result<Option<NaiveDate>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
        .map(Some)
        .ok_or_else(|| format!("diagnosis date {s:?} is not a date like 2021-05-01"))
}

pub fn read_clinical(path: &Path) -> Result<Clinical, DataError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_path(path)
        .map_err(|e| csv_error(path, e))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(path, e))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let id_col = col("patient_id").ok_or_else(|| {
        DataError::invalid(
            path,
            "no patient_id column (expected patient_id,egfr,diagnosis_date,site)",
        )
    })?;
    let (egfr_col, date_col, site_col) = (col("egfr"), col("diagnosis_date"), col("site"));
    let known = [Some(id_col), egfr_col, date_col, site_col];

    let mut out = Clinical {
        records: Vec::new(),
        has_site_column: site_col.is_some(),
    };
    let mut seen = HashSet::new();
    for row in reader.records() {
        let row = row.map_err(|e| csv_error(path, e))?;
        let line = row.position().map(|p| p.line()).unwrap_or(0);
        let cell = |c: Option<usize>| c.and_then(|c| row.get(c)).unwrap_or("").to_string();
        let patient_id = cell(Some(id_col));
        if patient_id.is_empty() {
            return Err(DataError::table(path, line, "empty patient_id"));
        }
        if !seen.insert(patient_id.clone()) {
            return Err(DataError::table(
                path,
                line,
                format!("duplicate patient_id {patient_id:?}"),
            ));
        }
        let egfr = parse_egfr(&cell(egfr_col)).map_err(|r| DataError::table(path, line, r))?;
        let diagnosis_date =
            parse_date(&cell(date_col)).map_err(|r| DataError::table(path, line, r))?;
        let extra = headers
            .iter()
            .enumerate()
            .filter(|(c, _)| !known.contains(&Some(*c)))
            .map(|(c, h)| (h.clone(), cell(Some(c))))
            .collect();
        out.records.push(ClinicalRecord {
            patient_id,
            egfr,
            diagnosis_date,
            site: cell(site_col),
            extra,
        });
    }
    Ok(out)
}

fn csv_error(path: &Path, e: csv::Error) -> DataError {
    let line = e.position().map(|p| p.line());
    let reason = match e.into_kind() {
        csv::ErrorKind::Io(io) => return DataError::io(path, io),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("row has {len} fields, the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
        other => format!("{other:?}"),
    };
    match line {
        Some(line) => DataError::table(path, line, reason),
        None => DataError::invalid(path, reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn egfr_values() {
        assert_eq!(parse_egfr("Mutant"), Ok(Some(1)));
        assert_eq!(parse_egfr(" WILD "), Ok(Some(0)));
        assert_eq!(parse_egfr("1"), Ok(Some(1)));
        assert_eq!(parse_egfr("0"), Ok(Some(0)));
        assert_eq!(parse_egfr(""), Ok(None));
        assert!(parse_egfr("maybe").is_err());
    }

    #[test]
    fn dates() {
        let d = NaiveDate::from_ymd_opt(2021, 5, 1);
        assert_eq!(parse_date("2021-05-01"), Ok(d));
        assert_eq!(parse_date("2021/05/01"), Ok(d));
        assert_eq!(parse_date("20210501"), Ok(d));
        assert_eq!(parse_date(""), Ok(None));
        assert!(parse_date("2021-13-01").is_err());
        assert!(parse_date("May 1st").is_err());
    }
}
