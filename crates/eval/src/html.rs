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
