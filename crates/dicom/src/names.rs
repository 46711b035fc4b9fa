//! Which ROIs of a structure set (or segments of a Segmentation) make up the GTV. Radiosurgery
//! plans contour each metastasis as its own ROI (`GTV1`, `GTV_2`, `GTV left frontal`), so one
//! name is often not the whole GTV: `--roi` takes a name, or several separated by commas, each
//! matched without regard to case and with `*` standing for any run of characters, and the GTV
//! is the union of every ROI that matches.

/// A GTV read from a structure set or Segmentation, and the names of the ROIs or segments whose
/// union it is (in file order), so a cohort's record shows what a pattern took.
#[derive(Debug, Clone)]
pub struct GtvMask {
    pub mask: mtsa_io::Volume<u8>,
    pub names: Vec<String>,
}

/// A parsed `--roi` value.
#[derive(Debug, Clone)]
pub(crate) struct NameSelector {
    /// The value as given (trimmed), for messages.
    text: String,
    /// Its comma-separated patterns, trimmed and lower-cased.
    patterns: Vec<Vec<char>>,
}

impl NameSelector {
    pub(crate) fn parse(text: &str) -> Self {
        let text = text.trim().to_string();
        let patterns = text
            .split(',')
            .map(|p| p.trim().to_lowercase().chars().collect::<Vec<_>>())
            .filter(|p| !p.is_empty())
            .collect();
        Self { text, patterns }
    }

    /// The value as given, for messages.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Indices of the `names` selected: the one equal to the whole value (so a name that holds
    /// a comma or an asterisk still selects itself alone), else every one some pattern matches.
    pub(crate) fn select<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Vec<usize> {
        let names: Vec<&str> = names.into_iter().collect();
        let whole = self.text.to_lowercase();
        match names.iter().position(|n| n.trim().to_lowercase() == whole) {
            Some(i) => vec![i],
            None => self.select_all(names),
        }
    }

    /// Indices of every one of `names` some pattern matches, without the whole-value shortcut
    /// of [`Self::select`]: for series descriptions, which two series may share.
    pub(crate) fn select_all<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Vec<usize> {
        names
            .into_iter()
            .enumerate()
            .filter(|(_, n)| {
                let n: Vec<char> = n.trim().to_lowercase().chars().collect();
                self.patterns.iter().any(|p| glob(p, &n))
            })
            .map(|(i, _)| i)
            .collect()
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters (none included).
/// Iterative with one backtrack point, so linear-ish in practice and never exponential.
fn glob(pattern: &[char], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picked(selector: &str, names: &[&str]) -> Vec<usize> {
        NameSelector::parse(selector).select(names.iter().copied())
    }

    #[test]
    fn names_patterns_and_lists() {
        let names = [
            "GTV",
            "GTV_1",
            "gtv2",
            "PTV_1",
            "Brain",
            "GTV, left",
            "xGTV",
        ];
        assert_eq!(picked("gtv", &names), [0]);
        assert_eq!(picked(" GTV* ", &names), [0, 1, 2, 5]);
        assert_eq!(picked("GTV_1, gtv2", &names), [1, 2]);
        assert_eq!(picked("*tv_1", &names), [1, 3]);
        assert_eq!(picked("GTV, left", &names), [5]);
        assert_eq!(picked("G*V*", &names), [0, 1, 2, 5]);
        assert_eq!(picked("Tumour", &names), Vec::<usize>::new());
        assert_eq!(picked("*", &names).len(), names.len());
        assert!(picked("", &names).is_empty());
        assert!(picked(",", &names).is_empty());
    }

    #[test]
    fn glob_edges() {
        let g = |p: &str, t: &str| {
            glob(
                &p.chars().collect::<Vec<_>>(),
                &t.chars().collect::<Vec<_>>(),
            )
        };
        assert!(g("a*b*c", "aXbYc"));
        assert!(g("a*b*c", "abc"));
        assert!(!g("a*b*c", "acb"));
        assert!(g("**", ""));
        assert!(!g("a", ""));
        assert!(g("*a", "bba"));
        assert!(!g("*a", "bab"));
        // Many stars against a long near-miss stays fast.
        let long = "a".repeat(2000);
        assert!(!g(&format!("{}b", "a*".repeat(50)), &long));
    }
}
