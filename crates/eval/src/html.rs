//! Small HTML helpers the report's sections share.

use crate::MeanCi;

/// A mean with `digits` decimals, `-` when there is none.
pub(crate) fn mean(m: Option<MeanCi>, digits: usize) -> String {
    m.map_or(dash(), |m| format!("{:.*}", digits, m.mean))
}

/// A mean with its interval, `-` when there is none.
pub(crate) fn mean_ci(m: Option<MeanCi>, digits: usize) -> String {
    m.map_or(dash(), |m| {
        format!(
            "{:.*} ({:.*}-{:.*})",
            digits, m.mean, digits, m.lower, digits, m.upper
        )
    })
}

/// A number with `digits` decimals, `-` when there is none.
pub(crate) fn fixed(v: Option<f64>, digits: usize) -> String {
    v.map_or(dash(), |v| format!("{v:.digits$}"))
}

/// What a missing value prints as.
pub(crate) fn dash() -> String {
    "-".to_string()
}

/// `s` safe inside HTML text and attributes.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
