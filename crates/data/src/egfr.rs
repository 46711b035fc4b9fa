//! EGFR status as one type from the clinical table to every report, so no code compares
//! strings or remembers which class index means mutant.
use serde::{Deserialize, Serialize};

/// A patient's EGFR status (a label from the clinical table, or a call from a model).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Egfr {
    Mutant,
    Wild,
}

impl Egfr {
    /// From the class index prepared datasets and the networks use (1 = mutant).
    pub fn from_class(class: u8) -> Self {
        if class == 1 {
            Egfr::Mutant
        } else {
            Egfr::Wild
        }
    }

    /// The class index (1 = mutant, 0 = wild).
    pub fn class(self) -> u8 {
        u8::from(self == Egfr::Mutant)
    }

    /// The paper's patient call: mutant when P(mutant) exceeds 0.5.
    pub fn call(p_mutant: f64) -> Self {
        if p_mutant > 0.5 {
            Egfr::Mutant
        } else {
            Egfr::Wild
        }
    }

    pub fn is_mutant(self) -> bool {
        self == Egfr::Mutant
    }
}

impl std::fmt::Display for Egfr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Egfr::Mutant => "mutant",
            Egfr::Wild => "wild",
        })
    }
}

impl std::str::FromStr for Egfr {
    type Err = String;
    /// `mutant`/`mut`/`1` and `wild`/`wild-type`/`wild_type`/`wildtype`/`wt`/`0`,
    /// case-insensitive: the spellings clinical tables use.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mutant" | "mut" | "1" => Ok(Egfr::Mutant),
            "wild" | "wild-type" | "wild_type" | "wildtype" | "wt" | "0" => Ok(Egfr::Wild),
            other => Err(format!(
                "EGFR value {other:?} is not one of mutant, wild, 1, 0 (or empty)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_spellings_and_calls() {
        for e in [Egfr::Mutant, Egfr::Wild] {
            assert_eq!(Egfr::from_class(e.class()), e);
            assert_eq!(e.to_string().parse::<Egfr>(), Ok(e));
            assert_eq!(serde_json::to_string(&e).unwrap(), format!("\"{e}\""));
        }
        assert_eq!("WT".parse::<Egfr>(), Ok(Egfr::Wild));
        assert!("maybe".parse::<Egfr>().is_err());
        assert_eq!(Egfr::call(0.5), Egfr::Wild);
        assert_eq!(Egfr::call(0.51), Egfr::Mutant);
    }
}
