//! Writing the files of an output folder, every failure naming the file.

use crate::EvalError;
use serde::Serialize;
use std::path::Path;

pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), EvalError> {
    std::fs::write(path, bytes).map_err(|e| EvalError::file(path, e))
}

/// `value` as pretty JSON.
pub(crate) fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<(), EvalError> {
    let json = serde_json::to_string_pretty(value).map_err(|e| EvalError::Usage(e.to_string()))?;
    write_file(path, json.as_bytes())
}

/// One CSV row per item, the header from the first item's field names.
pub(crate) fn write_csv<'a, T: Serialize + 'a>(
    path: &Path,
    rows: impl Iterator<Item = &'a T>,
) -> Result<(), EvalError> {
    let mut w = csv::Writer::from_path(path).map_err(|e| EvalError::file(path, e))?;
    for r in rows {
        w.serialize(r).map_err(|e| EvalError::file(path, e))?;
    }
    w.flush().map_err(|e| EvalError::file(path, e))
}
