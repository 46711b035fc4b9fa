//! Small typed accessors over dicom-object data sets, so that every missing or malformed
//! attribute becomes a `DicomError` naming the file and the attribute instead of a panic, and
//! helpers to build elements with values DICOM accepts (DS strings of at most 16 characters).

use crate::DicomError;
use dicom_core::header::HasLength;
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use std::path::Path;

pub(crate) type Obj = InMemDicomObject;

/// A string attribute, trimmed of padding; `None` when absent or empty.
pub(crate) fn opt_str(obj: &Obj, tag: Tag) -> Option<String> {
    let v = obj.get(tag)?.value().to_str().ok()?;
    let s = v.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_string())
}

pub(crate) fn req_str(
    obj: &Obj,
    tag: Tag,
    name: &'static str,
    path: &Path,
) -> Result<String, DicomError> {
    opt_str(obj, tag).ok_or_else(|| DicomError::attribute(path, name, "absent or empty"))
}

/// All numeric values of a (multi-valued) numeric or DS/IS attribute; `None` when absent/empty.
pub(crate) fn opt_f64s(
    obj: &Obj,
    tag: Tag,
    name: &'static str,
    path: &Path,
) -> Result<Option<Vec<f64>>, DicomError> {
    let Some(elem) = obj.get(tag) else {
        return Ok(None);
    };
    if elem.value().primitive().is_none_or(|p| p.is_empty()) {
        return Ok(None);
    }
    let v = elem
        .value()
        .to_multi_float64()
        .map_err(|e| DicomError::attribute(path, name, e))?;
    if let Some(bad) = v.iter().find(|x| !x.is_finite()) {
        return Err(DicomError::attribute(
            path,
            name,
            format!("value {bad} is not finite"),
        ));
    }
    Ok(Some(v))
}

/// Exactly `n` numeric values.
pub(crate) fn req_f64s(
    obj: &Obj,
    tag: Tag,
    name: &'static str,
    n: usize,
    path: &Path,
) -> Result<Vec<f64>, DicomError> {
    let v = opt_f64s(obj, tag, name, path)?
        .ok_or_else(|| DicomError::attribute(path, name, "absent or empty"))?;
    if v.len() != n {
        return Err(DicomError::attribute(
            path,
            name,
            format!("expected {n} values, found {}", v.len()),
        ));
    }
    Ok(v)
}

/// A single numeric value, when present.
pub(crate) fn opt_f64(
    obj: &Obj,
    tag: Tag,
    name: &'static str,
    path: &Path,
) -> Result<Option<f64>, DicomError> {
    Ok(opt_f64s(obj, tag, name, path)?.and_then(|v| v.first().copied()))
}

/// A single non-negative integer value (US, IS, ...).
pub(crate) fn req_usize(
    obj: &Obj,
    tag: Tag,
    name: &'static str,
    path: &Path,
) -> Result<usize, DicomError> {
    let v = opt_f64(obj, tag, name, path)?
        .ok_or_else(|| DicomError::attribute(path, name, "absent or empty"))?;
    if v < 0.0 || v.fract() != 0.0 || v > u32::MAX as f64 {
        return Err(DicomError::attribute(
            path,
            name,
            format!("{v} is not a count"),
        ));
    }
    Ok(v as usize)
}

/// The items of a sequence attribute (empty when absent).
pub(crate) fn items(obj: &Obj, tag: Tag) -> &[Obj] {
    obj.get(tag).and_then(|e| e.value().items()).unwrap_or(&[])
}

/// The item of functional group macro `macro_tag` (Plane Position, Pixel Measures, ...) that
/// describes frame `frame` of the multi-frame object `obj`: in that frame's Per-frame Functional
/// Groups, else in the Shared Functional Groups (PS3.3 C.7.6.16).
pub(crate) fn frame_group(obj: &Obj, frame: usize, macro_tag: Tag) -> Option<&Obj> {
    let per_frame = items(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).get(frame);
    let shared = items(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE).first();
    per_frame
        .and_then(|g| items(g, macro_tag).first())
        .or_else(|| shared.and_then(|g| items(g, macro_tag).first()))
}

/// Formats a number as a DICOM Decimal String: at most 16 characters, as many significant
/// digits as fit, so positions and rescale values lose as little as possible.
pub(crate) fn format_ds(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return "0".into();
    }
    for decimals in (0..=15).rev() {
        let s = format!("{x:.decimals$}");
        if s.len() <= 16 {
            let s = if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                s
            };
            return if s == "-0" { "0".into() } else { s };
        }
    }
    // Magnitudes beyond 1e15: scientific notation (never reached for millimetres).
    for digits in (0..=9).rev() {
        let s = format!("{x:.digits$e}");
        if s.len() <= 16 {
            return s;
        }
    }
    format!("{x:.0e}")
}

/// The value a DS string written by [`format_ds`] reads back as: what quantisation must use.
pub(crate) fn ds_round(x: f64) -> f64 {
    format_ds(x).parse().unwrap_or(x)
}

pub(crate) fn str_elem(tag: Tag, vr: VR, value: &str) -> DataElement<Obj> {
    if value.is_empty() {
        DataElement::new(tag, vr, PrimitiveValue::Empty)
    } else {
        DataElement::new(tag, vr, PrimitiveValue::from(value))
    }
}

pub(crate) fn strs_elem(tag: Tag, vr: VR, values: &[&str]) -> DataElement<Obj> {
    DataElement::new(
        tag,
        vr,
        PrimitiveValue::Strs(values.iter().map(|s| s.to_string()).collect()),
    )
}

pub(crate) fn ds_elem(tag: Tag, values: &[f64]) -> DataElement<Obj> {
    DataElement::new(
        tag,
        VR::DS,
        PrimitiveValue::Strs(values.iter().map(|&v| format_ds(v)).collect()),
    )
}

pub(crate) fn is_elem(tag: Tag, value: i64) -> DataElement<Obj> {
    DataElement::new(tag, VR::IS, PrimitiveValue::from(value.to_string()))
}

pub(crate) fn us_elem(tag: Tag, value: u16) -> DataElement<Obj> {
    DataElement::new(tag, VR::US, PrimitiveValue::from(value))
}

pub(crate) fn seq_elem(tag: Tag, items: Vec<Obj>) -> DataElement<Obj> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

/// A sequence item built from elements.
pub(crate) fn item(elems: Vec<DataElement<Obj>>) -> Obj {
    InMemDicomObject::from_element_iter(elems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ds_fits_sixteen_chars() {
        for x in [
            0.0,
            -0.0,
            1.0,
            -123.456_789_012_345_67,
            1e-9,
            0.1 + 0.2,
            98_765_432.123_456_78,
            -1e20,
        ] {
            let s = format_ds(x);
            assert!(s.len() <= 16, "{x} -> {s}");
            let back: f64 = s.parse().expect("parses");
            assert!(
                (back - x).abs() <= 1e-9 * x.abs().max(1.0) || x.abs() < 1e-8,
                "{x} -> {s}"
            );
        }
        assert_eq!(format_ds(3.0), "3");
        assert_eq!(format_ds(-0.5), "-0.5");
    }
}
