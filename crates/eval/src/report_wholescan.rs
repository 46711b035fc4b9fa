//! The report's whole-scan section: what a planner would get on every test patient's complete
//! scan, beside the paper's slice table.

use crate::html::{esc, fixed, mean, mean_ci};
use crate::plots::froc_svg;
use crate::report_types::WholeScanReport;
use std::fmt::Write;

pub(crate) fn section(splits: &[WholeScanReport]) -> String {
    let mut h = String::from(
        "<h2>Whole scans (what <code>predict</code> gives a planner)</h2>\
         <table><tr><th>set</th><th>patients</th><th>patient 3-D Dice (95% CI)</th><th>median</th>\
         <th>HD95 mm</th><th>lesions</th><th>sensitivity</th><th>&lt; 6 mm</th><th>&ge; 6 mm</th>\
         <th>FP lesions / patient</th><th>lesion-wise Dice</th><th>EGFR acc</th><th>AUC</th><th>Bayes acc</th></tr>",
    );
    for s in splits {
        let e = s.egfr.as_ref();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.name),
            s.patients,
            mean_ci(s.detection.dice, 3),
            fixed(s.detection.dice_median, 3),
            mean(s.detection.hd95_mm, 1),
            s.detection.lesions,
            fixed(s.detection.lesion_sensitivity, 3),
            fixed(s.detection.sensitivity_under_6mm, 3),
            fixed(s.detection.sensitivity_6mm_and_over, 3),
            fixed(s.detection.false_positive_lesions_per_patient, 2),
            mean(s.detection.lesion_wise_dice, 3),
            fixed(e.and_then(|e| e.accuracy.value), 3),
            fixed(e.and_then(|e| e.auc), 3),
            fixed(s.bayes_accuracy, 3),
        );
    }
    h.push_str("</table>");
    if splits.iter().any(|s| s.network_egfr.is_some()) {
        // The call comes from the lesion phenotype; the network's own vote stays visible.
        let votes: Vec<String> = splits
            .iter()
            .map(|s| {
                let v = s.network_egfr.as_ref().and_then(|e| e.accuracy.value);
                format!("{} {}", esc(&s.name), fixed(v, 3))
            })
            .collect();
        let _ = write!(
            h,
            "<p>EGFR acc is the call from the cleaned GTV's measured lesion phenotype (count, \
             size, dark core, enhancement spread, surrounding oedema). MTSA-Net's own slice \
             vote on the same patients: {}.</p>",
            votes.join(", ")
        );
    }
    h.push_str("<table><tr><th>set</th>");
    if let Some(first) = splits.first() {
        for b in &first.detection.by_size {
            let _ = write!(h, "<th>{}</th>", esc(&b.bin));
        }
    }
    h.push_str("</tr>");
    for s in splits {
        let _ = write!(h, "<tr><td>{}</td>", esc(&s.name));
        for b in &s.detection.by_size {
            let _ = write!(
                h,
                "<td>{} ({}/{})</td>",
                fixed(b.sensitivity, 2),
                b.detected,
                b.lesions
            );
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    let classified = splits
        .first()
        .is_some_and(|s| s.postprocess.lesion_classifier.is_some());
    if let Some(first) = splits.first() {
        let pp = &first.postprocess;
        let rule = match &pp.lesion_classifier {
            Some(c) => {
                format!(
                    "a lesion classifier on each scan's own grid keeps the candidates it gives a \
                 probability of at least {}{}{}",
                    c.cut,
                    pp.second_size.map_or(String::new(), |n| format!(
                        " (candidates from the network at its trained side and at {n} px)"
                    )),
                    pp.close_mm
                        .map_or(String::new(), |r| format!(", each closed by a {r} mm ball")),
                ) + &match (&pp.thick_slice_classifier, pp.calibrated_slice_mm) {
                    (Some(t), Some(mm)) => format!(
                        "; on scans whose slices are over {}x as thick as the calibration scans' \
                     ({mm} mm), a classifier fitted on those scans' slices averaged in pairs \
                     decides instead, at cut {}",
                        crate::postprocess::THICK_SLICE_FACTOR,
                        t.cut
                    ),
                    _ => String::new(),
                }
            }
            None => format!(
                "threshold {}, lesions under {} mm&sup3; dropped",
                pp.threshold, pp.min_volume_mm3
            ),
        };
        let _ = write!(
            h,
            "<p>Lesion sensitivity by equivalent diameter (detected / true lesions). Lesions are \
             26-connected components matched as in BraTS-METS 2023 (truth dilated by one voxel; \
             true lesions of 2 mm&sup3; or less not counted). Post-processing: {rule}, flip TTA \
             {} ({}).</p>",
            if pp.flip_tta { "on" } else { "off" },
            esc(&pp.source)
        );
    }
    h.push_str("<div class=\"row\">");
    for s in splits {
        h.push_str(&froc_svg(&s.name, &s.froc));
    }
    h.push_str(if classified {
        "</div><p>FROC over the lesion classifier's cut, on each scan's own grid: one point per \
         cut, the run's own among them (the table's operating point).</p>"
    } else {
        "</div><p>FROC on the network's grid (truth resampled onto it), at the run's minimum \
         lesion volume, one point per probability threshold.</p>"
    });
    h.push_str(&operating_points(splits, classified));
    h
}

/// Every FROC point as numbers, with the mean patient Dice it would give: what another cut (or
/// threshold) would trade.
fn operating_points(splits: &[WholeScanReport], classified: bool) -> String {
    let mut h = format!(
        "<table><tr><th>set</th><th>{}</th><th>sensitivity</th><th>FP lesions / patient</th>\
         <th>mean patient Dice</th></tr>",
        if classified { "cut" } else { "threshold" }
    );
    for s in splits {
        let own = match &s.postprocess.lesion_classifier {
            Some(_) => s.classifier_cut.map(|c| c as f32),
            None => Some(s.postprocess.threshold),
        };
        for p in &s.froc {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{:.2}</td><td>{}</td></tr>",
                esc(&s.name),
                p.threshold,
                if Some(p.threshold) == own {
                    " (the run's)"
                } else {
                    ""
                },
                fixed(p.sensitivity, 3),
                p.fp_per_patient,
                fixed(p.mean_patient_dice, 3)
            );
        }
    }
    h.push_str(
        "</table><p>Mean patient Dice: each patient's voxel Dice of the mask the point keeps, \
         on the grid the FROC is measured on.</p>",
    );
    h
}
