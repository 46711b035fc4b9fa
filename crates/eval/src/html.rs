//! Small helpers the report's sections share; the number formats serve the terminal tables
//! too (`mtsa_eval::fixed`, `mtsa_eval::mean_ci`).

use crate::MeanCi;

/// A mean with `digits` decimals, `-` when there is none.
pub(crate) fn mean(m: Option<MeanCi>, digits: usize) -> String {
    m.map_or(dash(), |m| format!("{:.*}", digits, m.mean))
}

/// A mean with its interval, `-` when there is none.
pub fn mean_ci(m: Option<MeanCi>, digits: usize) -> String {
    m.map_or(dash(), |m| {
        format!(
            "{:.*} ({:.*}-{:.*})",
            digits, m.mean, digits, m.lower, digits, m.upper
        )
    })
}

/// A number with `digits` decimals, `-` when there is none.
pub fn fixed(v: Option<f64>, digits: usize) -> String {
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
