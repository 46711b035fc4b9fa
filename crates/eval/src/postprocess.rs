//! How a run turns probabilities into a GTV mask: the record calibration writes as
//! `postprocess.json` ([`Postprocess`]), read and checked before any scan is segmented.

use crate::lesion_filter::LesionClassifier;
use crate::phenotype::PhenotypeModel;
use crate::EvalError;
use mtsa_infer::RunPaths;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The whole-scan EGFR call's source when the run has a phenotype model
/// ([`Postprocess::egfr_source`]).
pub const EGFR_FROM_PHENOTYPE: &str = "lesion phenotype";
/// ... and when it has none: the network's slice vote.
pub const EGFR_FROM_VOTE: &str = "network vote";

/// The largest closing radius a record may ask for: beyond it, closing would fill the space
/// between a lesion's lobes rather than a core or a gap.
const MAX_CLOSE_MM: f64 = 10.0;

/// How probabilities become a GTV mask, stored in the run as `postprocess.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Postprocess {
    /// A pixel is GTV when its probability exceeds this.
    pub threshold: f32,
    /// Connected lesions (26-connected, on the network's grid) smaller than this are dropped.
    pub min_volume_mm3: f64,
    /// Average with the prediction on the mirrored slice.
    pub flip_tta: bool,
    /// With a value, lesions are the components of `prob > segment_threshold` whose peak
    /// probability exceeds `threshold` (two cuts, [`mtsa_metrics::keep_lesions`]): a strict
    /// threshold then rejects doubtful blobs without eroding the outlines it keeps. Without,
    /// `threshold` cuts the map itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_threshold: Option<f32>,
    /// With a value, a lesion-level classifier on the scan's own grid decides which candidates
    /// (components of the restored `prob > segment_threshold`) are lesions, in place of the peak
    /// threshold and the minimum volume ([`crate::lesion_filter`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lesion_classifier: Option<LesionClassifier>,
    /// With a value (pixels, a multiple of 64) and a lesion classifier: the network's GTV path
    /// also runs at this side over the same field of view, where a small metastasis covers more
    /// pixels, and the candidates are cut from the voxel-wise maximum of both sides'
    /// probabilities on the scan's grid. Mirror test-time augmentation runs at the trained side
    /// only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_size: Option<usize>,
    /// With a value (mm) and a lesion classifier: each kept lesion is closed by a ball of this
    /// radius on the scan's grid ([`crate::closing`]), filling a necrotic core and gaps in the
    /// rim that the network left out. Written by calibration when it fits a classifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_mm: Option<f64>,
    /// With a value, the patient's EGFR call comes from the cleaned GTV's measured lesion
    /// phenotype ([`crate::phenotype`]) instead of the network's slice vote, which is still
    /// reported beside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egfr_phenotype: Option<PhenotypeModel>,
    /// The thickest slices (mm) among the validation scans calibration chose on: `predict`
    /// warns on a scan whose slices are much thicker ([`Postprocess::slice_warning`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibrated_slice_mm: Option<f64>,
    /// With a value: a second lesion classifier, fitted as `lesion_classifier` but on the
    /// validation scans seen through slices twice as thick ([`crate::thick_view`]), that
    /// decides in its place on scans whose slices are much thicker than `calibrated_slice_mm`
    /// ([`Postprocess::classifier_for`]). Written by calibration with the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thick_slice_classifier: Option<LesionClassifier>,
    /// Where the values came from (`paper` defaults, or the calibration that chose them).
    pub source: String,
}

/// Slices thicker than this many times the calibration scans' draw a warning from `predict`.
pub(crate) const THICK_SLICE_FACTOR: f64 = 1.5;

impl Default for Postprocess {
    /// The paper's: threshold 0.5, every component kept, no test-time augmentation.
    fn default() -> Self {
        Self {
            threshold: 0.5,
            min_volume_mm3: 0.0,
            flip_tta: false,
            segment_threshold: None,
            lesion_classifier: None,
            second_size: None,
            close_mm: None,
            egfr_phenotype: None,
            calibrated_slice_mm: None,
            thick_slice_classifier: None,
            source: "paper (threshold 0.5, no lesion-size filter)".into(),
        }
    }
}

impl Postprocess {
    /// The run's stored post-processing, or the paper's when the run has none.
    pub fn of_run(run: &Path) -> Result<Self, EvalError> {
        let path = RunPaths::new(run).postprocess();
        if !path.exists() {
            return Ok(Self::default());
        }
        let text = std::fs::read_to_string(&path).map_err(|e| EvalError::file(&path, e))?;
        let pp: Postprocess = serde_json::from_str(&text)
            .map_err(|e| EvalError::file(&path, format!("bad post-processing record: {e}")))?;
        let segment = pp.segment();
        let usable = pp.threshold > 0.0
            && pp.threshold < 1.0
            && segment > 0.0
            && segment <= pp.threshold
            && pp.min_volume_mm3.is_finite()
            && pp.min_volume_mm3 >= 0.0
            && pp
                .close_mm
                .is_none_or(|r| r > 0.0 && r <= MAX_CLOSE_MM && pp.lesion_classifier.is_some());
        for classifier in [&pp.lesion_classifier, &pp.thick_slice_classifier] {
            if let Some(problem) = classifier.as_ref().and_then(|c| c.problem()) {
                return Err(EvalError::file(&path, problem));
            }
        }
        if pp.thick_slice_classifier.is_some()
            && (pp.lesion_classifier.is_none() || pp.calibrated_slice_mm.is_none())
        {
            return Err(EvalError::file(
                &path,
                "a thick_slice_classifier needs a lesion_classifier and the calibrated_slice_mm \
                 it stands in for",
            ));
        }
        if let Some(problem) = pp.egfr_phenotype.as_ref().and_then(|m| m.problem()) {
            return Err(EvalError::file(&path, problem));
        }
        if let Some(problem) = pp.second_size_problem() {
            return Err(EvalError::file(&path, problem));
        }
        if !usable {
            return Err(EvalError::file(
                &path,
                format!(
                    "threshold {} must lie in (0, 1), segment_threshold {} in (0, threshold], \
                     min_volume_mm3 {} be >= 0 and close_mm {:?} in (0, {MAX_CLOSE_MM}] with a \
                     lesion_classifier",
                    pp.threshold, segment, pp.min_volume_mm3, pp.close_mm
                ),
            ));
        }
        Ok(pp)
    }

    /// Why `second_size` cannot be used, if it cannot: it needs a side the network takes and a
    /// classifier to read the candidates it adds.
    fn second_size_problem(&self) -> Option<String> {
        let size = self.second_size?;
        if let Some(problem) = mtsa_model::side_problem(size as i64) {
            return Some(format!("second_size {problem}"));
        }
        if size > mtsa_data::MAX_SIDE {
            return Some(format!(
                "second_size {size} is over {} pixels",
                mtsa_data::MAX_SIDE
            ));
        }
        self.lesion_classifier
            .is_none()
            .then(|| "second_size needs a lesion_classifier to read its candidates".into())
    }

    /// Where the patient's whole-scan EGFR call comes from, as the reports name it:
    /// [`EGFR_FROM_PHENOTYPE`] or [`EGFR_FROM_VOTE`].
    pub fn egfr_source(&self) -> &'static str {
        if self.egfr_phenotype.is_some() {
            EGFR_FROM_PHENOTYPE
        } else {
            EGFR_FROM_VOTE
        }
    }

    /// Why a scan with slices `slice_mm` thick may lose lesions, when they are much thicker
    /// than those the run was calibrated on. Why: a thick slice averages a metastasis of a few
    /// millimetres with the tissue around it, so it shows fainter than any lesion the network
    /// and the lesion classifier learnt from; on the synthetic cohort's 4 mm site the
    /// twenty-fourth session's demos found 0.48-0.55 of the lesions under 6 mm, against
    /// 0.70-0.82 on its 2 mm slices (`docs/whole-scan.md`).
    pub fn slice_warning(&self, slice_mm: f64) -> Option<String> {
        let calibrated = self.calibrated_slice_mm?;
        self.is_thick(slice_mm).then(|| {
            format!(
                "slices {slice_mm:.1} mm thick, against at most {calibrated:.1} mm on the scans \
                 this run was calibrated on: small lesions are averaged with the tissue around \
                 them and may be missed (docs/whole-scan.md: fewer lesions under 6 mm are found \
                 on the synthetic cohort's 4 mm slices than on its 2 mm ones)"
            )
        })
    }

    /// Whether slices `slice_mm` thick are much thicker than those calibration chose on.
    fn is_thick(&self, slice_mm: f64) -> bool {
        self.calibrated_slice_mm
            .is_some_and(|c| slice_mm > THICK_SLICE_FACTOR * c)
    }

    /// The lesion classifier for a scan with slices `slice_mm` thick: the thick-slice one where
    /// the slices are much thicker than calibration's and the run has one, else the first.
    pub fn classifier_for(&self, slice_mm: f64) -> Option<&LesionClassifier> {
        match &self.thick_slice_classifier {
            Some(thick) if self.is_thick(slice_mm) => Some(thick),
            _ => self.lesion_classifier.as_ref(),
        }
    }

    /// The probability lesions are outlined at: `segment_threshold`, or with one cut `threshold`.
    pub fn segment(&self) -> f32 {
        self.segment_threshold.unwrap_or(self.threshold)
    }
}

/// `pp` as a result embeds it (`egfr.json`, `metrics.json`): every value that decided the
/// result, but each lesion classifier's look model by its size (networks, training examples,
/// lesions among them) instead of its weights, which stay in the run's `postprocess.json`.
/// Why: the weights are some 190 KB of numbers nobody reads in a result, repeated in every
/// study of a batch and every split of a report (the demo's `egfr.json` 339 KB, its
/// `metrics.json` 1.2 MB). For `#[serde(serialize_with)]`.
pub(crate) fn serialize_applied<S: serde::Serializer>(
    pp: &Postprocess,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::Error;
    // Through text, not `to_value`, which would widen each f32 (a threshold of 0.98 written
    // as 0.9800000190734863).
    let text = serde_json::to_string(pp).map_err(S::Error::custom)?;
    let mut record: serde_json::Value = serde_json::from_str(&text).map_err(S::Error::custom)?;
    for classifier in ["lesion_classifier", "thick_slice_classifier"] {
        if let Some(look) = record.get_mut(classifier).and_then(|c| c.get_mut("look")) {
            *look = serde_json::json!({
                "networks": look["nets"].as_array().map_or(0, Vec::len),
                "examples": look["examples"],
                "lesions": look["lesions"],
                "weights": "in the run's postprocess.json",
            });
        }
    }
    record.serialize(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lesion_filter;

    fn read(json: &str) -> Result<Postprocess, EvalError> {
        let dir = tempfile::tempdir().map_err(|e| EvalError::Usage(e.to_string()))?;
        std::fs::write(RunPaths::new(dir.path()).postprocess(), json)
            .map_err(|e| EvalError::Usage(e.to_string()))?;
        Postprocess::of_run(dir.path())
    }

    /// A record without the calibration's slice thickness (earlier runs, the paper's) warns on
    /// nothing; with it, only slices more than 1.5 times as thick draw a warning.
    #[test]
    fn slices_much_thicker_than_the_calibration_scans_are_warned_about() -> Result<(), EvalError> {
        let old = read(
            r#"{"threshold": 0.5, "min_volume_mm3": 0.0, "flip_tta": false, "source": "test"}"#,
        )?;
        assert_eq!(old.calibrated_slice_mm, None);
        assert_eq!(old.slice_warning(10.0), None);
        let pp = Postprocess {
            calibrated_slice_mm: Some(2.0),
            ..Postprocess::default()
        };
        assert_eq!(pp.slice_warning(2.0), None);
        assert_eq!(pp.slice_warning(3.0), None);
        let warning = pp.slice_warning(4.0).expect("4 mm against 2 mm");
        assert!(
            warning.starts_with("slices 4.0 mm thick, against at most 2.0 mm"),
            "{warning}"
        );
        Ok(())
    }

    #[test]
    fn a_run_record_needs_a_segment_threshold_at_or_below_the_threshold() -> Result<(), EvalError> {
        let base = r#""min_volume_mm3": 80.0, "flip_tta": true, "source": "test""#;
        // Records written before the two cuts existed read as one cut.
        let old = read(&format!(r#"{{"threshold": 0.9, {base}}}"#))?;
        assert_eq!(old.segment_threshold, None);
        let two = read(&format!(
            r#"{{"threshold": 0.9, "segment_threshold": 0.5, {base}}}"#
        ))?;
        assert_eq!(two.segment_threshold, Some(0.5));
        let err = read(&format!(
            r#"{{"threshold": 0.5, "segment_threshold": 0.9, {base}}}"#
        ))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("segment_threshold 0.9"), "{err}");
        assert!(read(&format!(
            r#"{{"threshold": 0.5, "segment_threshold": 0.0, {base}}}"#
        ))
        .is_err());
        // Closing belongs to a classifier's lesions, and needs a radius.
        let err = read(&format!(r#"{{"threshold": 0.5, "close_mm": 1.5, {base}}}"#))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("close_mm Some(1.5)"), "{err}");
        Ok(())
    }

    #[test]
    fn a_second_size_needs_a_side_the_network_takes_and_a_classifier() -> Result<(), EvalError> {
        let base = r#""threshold": 0.9, "min_volume_mm3": 80.0, "flip_tta": true, "source": "t""#;
        let err = read(&format!(r#"{{"second_size": 192, {base}}}"#))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("needs a lesion_classifier"), "{err}");
        let mut pp = Postprocess {
            second_size: Some(100),
            ..Postprocess::default()
        };
        assert!(pp
            .second_size_problem()
            .is_some_and(|p| p.contains("multiple of 64")));
        pp.second_size = None;
        assert_eq!(pp.second_size_problem(), None);
        Ok(())
    }

    #[test]
    fn a_lesion_classifier_record_must_match_the_features_this_build_computes(
    ) -> Result<(), EvalError> {
        let classifier = |names: &[&str], cut: f64| {
            let p = names.len();
            serde_json::json!({
                "features": names,
                "standardizer": {"mean": vec![0.0; p], "scale": vec![1.0; p]},
                "intercept": 0.0,
                "coefficients": vec![1.0; p],
                "cut": cut,
                "bright_contrast": 2.0,
            })
        };
        let record = |c: serde_json::Value| {
            serde_json::json!({
                "threshold": 0.9, "segment_threshold": 0.5, "min_volume_mm3": 80.0,
                "flip_tta": true, "source": "test", "lesion_classifier": c,
            })
            .to_string()
        };
        let names = lesion_filter::FEATURE_NAMES;
        let ok = read(&record(classifier(&names, 0.3)))?;
        assert_eq!(ok.lesion_classifier.as_ref().map(|c| c.cut), Some(0.3));
        let err = |c| {
            read(&record(c))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(err(classifier(&names[..5], 0.3)).contains("lesion classifier"));
        let mut renamed = names;
        renamed[0] = "volume";
        assert!(err(classifier(&renamed, 0.3)).contains("lesion classifier"));
        assert!(err(classifier(&names, 1.0)).contains("cut and any outline in (0, 1)"));
        // A record without an outline keeps whole candidates; one outside (0, 1) is refused.
        assert_eq!(ok.lesion_classifier.and_then(|c| c.outline), None);
        let mut outlined = classifier(&names, 0.3);
        outlined["outline"] = serde_json::json!(0.7);
        let with = read(&record(outlined.clone()))?;
        assert_eq!(with.lesion_classifier.and_then(|c| c.outline), Some(0.7));
        outlined["outline"] = serde_json::json!(1.5);
        assert!(err(outlined).contains("outline"));

        // A thick-slice classifier decides on scans with slices over 1.5x calibration's only;
        // it is checked as the first and refused without the first or the calibration's slices.
        let mut both: serde_json::Value =
            serde_json::from_str(&record(classifier(&names, 0.3))).expect("a JSON record");
        both["thick_slice_classifier"] = classifier(&names, 0.1);
        let without_slices = both.to_string();
        both["calibrated_slice_mm"] = serde_json::json!(2.0);
        let pp = read(&both.to_string())?;
        let cut = |mm: f64| pp.classifier_for(mm).map(|c| c.cut);
        assert_eq!(
            (cut(2.0), cut(3.0), cut(3.1), cut(4.0)),
            (Some(0.3), Some(0.3), Some(0.1), Some(0.1))
        );
        let refused = |json: String| read(&json).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused(without_slices).contains("thick_slice_classifier needs"));
        let mut alone = both.clone();
        alone["lesion_classifier"] = serde_json::Value::Null;
        assert!(refused(alone.to_string()).contains("thick_slice_classifier needs"));
        both["thick_slice_classifier"] = classifier(&names[..5], 0.1);
        assert!(refused(both.to_string()).contains("lesion classifier must use the features"));
        Ok(())
    }

    /// A result embeds the post-processing with each look model summarised (its networks
    /// counted, its weights left in the run) and every other value as stored.
    #[test]
    fn a_result_embeds_the_look_model_by_its_size_not_its_weights() -> Result<(), EvalError> {
        let net = serde_json::json!({
            "hidden_weight": [[0.5, -0.5]], "hidden_bias": [0.1], "output_weight": [2.0],
            "output_bias": -1.0,
        });
        let classifier = serde_json::json!({
            "features": ["a"], "standardizer": {"mean": [0.0], "scale": [1.0]},
            "intercept": -1.0, "coefficients": [1.0], "cut": 0.3, "bright_contrast": 2.0,
            "look": {
                "standardizer": {"mean": [0.0, 0.0], "scale": [1.0, 1.0]},
                "nets": [net.clone(), net], "examples": 40, "lesions": 3,
            },
        });
        let stored = serde_json::json!({
            "threshold": 0.98, "min_volume_mm3": 160.0, "flip_tta": true, "source": "test",
            "thick_slice_classifier": classifier,
        });
        let pp: Postprocess =
            serde_json::from_value(stored.clone()).map_err(|e| EvalError::Usage(e.to_string()))?;
        #[derive(Serialize)]
        struct Embedded {
            #[serde(serialize_with = "serialize_applied")]
            postprocess: Postprocess,
        }
        let embedded = serde_json::to_value(Embedded { postprocess: pp })
            .map_err(|e| EvalError::Usage(e.to_string()))?;
        let mut want = stored;
        want["thick_slice_classifier"]["look"] = serde_json::json!({
            "networks": 2, "examples": 40, "lesions": 3,
            "weights": "in the run's postprocess.json",
        });
        assert_eq!(embedded["postprocess"], want);
        Ok(())
    }
}
