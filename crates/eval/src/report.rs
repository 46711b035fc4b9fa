//! The self-contained HTML report: one file, pictures inline, readable offline.

use crate::figures::Overlay;
use crate::html::{dash, esc, fixed, mean, mean_ci};
use crate::plots::{roc_svg, training_svg};
use crate::report_types::{EvaluationReport, PatientRow, SplitReport};
use base64::Engine;
use mtsa_infer::EpochRecord;
use mtsa_metrics::{Interval, Proportion};
use std::fmt::Write;

pub fn write_report(
    report: &EvaluationReport,
    patients: &[PatientRow],
    history: &[EpochRecord],
    overlays: &[Overlay],
    fp_overlays: &[Overlay],
) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>mtsa evaluation</title><style>{CSS}</style></head><body>\
         <h1>MTSA-Net evaluation</h1><p>Model preset <b>{}</b>, run <code>{}</code>, data <code>{}</code> (hash {}).</p>",
        esc(&report.preset),
        esc(&report.run),
        esc(&report.data),
        &report.data_hash.chars().take(12).collect::<String>()
    );
    if !report.whole_scan.is_empty() {
        h.push_str(&crate::report_wholescan::section(&report.whole_scan));
        h.push_str(&figures(
            "False lesions: the patients with the most",
            fp_overlays,
        ));
    }
    h.push_str("<h2>Results (paper Table 3 layout)</h2>");
    h.push_str(&table3(&report.splits));
    h.push_str("<h2>Segmentation detail</h2>");
    h.push_str(&segmentation_table(&report.splits));
    for s in &report.splits {
        if let Some(e) = &s.egfr {
            let _ = write!(
                h,
                "<h2>EGFR, {}</h2><div class=\"row\">{}",
                esc(&s.name),
                roc_svg(&e.roc, e.auc)
            );
            h.push_str(&egfr_table(s));
            h.push_str("</div>");
        }
    }
    if !history.is_empty() {
        let (loss, quality) = training_svg(history);
        let _ = write!(
            h,
            "<h2>Training</h2><div class=\"row\">{loss}{quality}</div>"
        );
    }
    h.push_str(&figures(
        "GTV overlays: best and worst patients (GTV slices)",
        overlays,
    ));
    h.push_str(&patient_table(patients));
    let _ = write!(
        h,
        "<h2>Conventions</h2><p>Empty masks: {}.</p><p>HD95: {}.</p><p>Patient EGFR call: mean mutant probability of the \
         top 50% of the patient's slices by predicted GTV area; mutant when above 0.5. Intervals are 95%: Wald \
         (as the paper), Wilson and patient bootstrap for proportions, DeLong for AUC, normal approximation for means.</p></body></html>",
        esc(&report.empty_policy),
        esc(&report.hd95)
    );
    h
}

/// A headed row of captioned pictures; nothing without pictures.
fn figures(title: &str, overlays: &[Overlay]) -> String {
    let mut h = String::new();
    if overlays.is_empty() {
        return h;
    }
    let _ = write!(h, "<h2>{}</h2><div class=\"row\">", esc(title));
    for o in overlays {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&o.png);
        let _ = write!(
            h,
            "<figure><img src=\"data:image/png;base64,{b64}\"><figcaption>{}</figcaption></figure>",
            esc(&o.caption)
        );
    }
    h.push_str("</div>");
    h
}

const CSS: &str = "body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em;color:#222}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\
th{background:#f3f3f3}td:first-child{text-align:left}.row{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}\
figure{margin:0}figcaption{font-size:.85em;max-width:400px}";

fn table3(splits: &[SplitReport]) -> String {
    let mut t = String::from("<table><tr><th>set</th><th>patients</th><th>Dice</th><th>HD95 mm</th><th>pix. precision</th>\
        <th>pix. recall</th><th>EGFR acc</th><th>EGFR prec</th><th>EGFR recall</th><th>F1</th><th>AUC</th><th>Bayes acc</th></tr>");
    for s in splits {
        let e = s.egfr.as_ref();
        let _ = write!(
            t,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.name),
            s.patients,
            mean(s.slice_dice, 4),
            mean(s.slice_hd95_mm, 2),
            mean(s.slice_precision, 4),
            mean(s.slice_recall, 4),
            e.map_or(dash(), |e| prop(&e.accuracy)),
            e.map_or(dash(), |e| prop(&e.precision)),
            e.map_or(dash(), |e| prop(&e.recall)),
            fixed(e.and_then(|e| e.f1), 4),
            fixed(e.and_then(|e| e.auc), 3),
            fixed(s.bayes_accuracy, 3),
        );
    }
    t.push_str("</table><p>Segmentation columns are per-slice means, as in the paper; EGFR columns are per patient.</p>");
    t
}

fn segmentation_table(splits: &[SplitReport]) -> String {
    let mut t = String::from("<table><tr><th>set</th><th>slices</th><th>slice Dice (95% CI)</th><th>slice HD95 mm (95% CI)</th>\
        <th>patient 3-D Dice (95% CI)</th><th>patient HD95 mm</th><th>lesion sensitivity</th><th>FP lesions / patient</th></tr>");
    for s in splits {
        let _ = write!(
            t,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.name),
            s.slices,
            mean_ci(s.slice_dice, 4),
            mean_ci(s.slice_hd95_mm, 2),
            mean_ci(s.patient_dice, 4),
            mean_ci(s.patient_hd95_mm, 2),
            fixed(s.lesion_sensitivity, 3),
            fixed(s.false_positive_lesions_per_patient, 2),
        );
    }
    t.push_str("</table>");
    t
}

fn egfr_table(s: &SplitReport) -> String {
    let Some(e) = &s.egfr else {
        return String::new();
    };
    let mut t = String::from("<table><tr><th>metric</th><th>value</th><th>Wald</th><th>Wilson</th><th>bootstrap</th></tr>");
    for (name, p) in [
        ("accuracy", &e.accuracy),
        ("precision", &e.precision),
        ("recall", &e.recall),
        ("specificity", &e.specificity),
    ] {
        let _ = write!(
            t,
            "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.value
                .map_or(dash(), |v| format!("{v:.4} ({}/{})", p.successes, p.n)),
            interval(p.wald),
            interval(p.wilson),
            interval(p.bootstrap)
        );
    }
    let _ = write!(
        t,
        "<tr><td>F1</td><td>{}</td><td></td><td></td><td>{}</td></tr><tr><td>AUC</td><td>{}</td><td colspan=\"2\">DeLong {}</td><td>{}</td></tr>",
        fixed(e.f1, 4),
        interval(e.f1_bootstrap),
        fixed(e.auc, 4),
        interval(e.auc_delong),
        interval(e.auc_bootstrap)
    );
    let c = &e.confusion;
    let _ = write!(
        t,
        "</table><p>Confusion: TP {} FP {} TN {} FN {}; Brier {}.</p>",
        c.tp,
        c.fp,
        c.tn,
        c.fn_,
        fixed(e.brier, 4)
    );
    t
}

fn patient_table(patients: &[PatientRow]) -> String {
    let mut t = String::from("<h2>Patients</h2><table><tr><th>set</th><th>patient</th><th>slices</th><th>3-D Dice</th><th>HD95 mm</th>\
        <th>lesions found</th><th>EGFR truth</th><th>P(mutant)</th><th>call</th><th>generator P</th></tr>");
    for p in patients {
        let _ = write!(
            t,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}/{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&p.split),
            esc(&p.patient_id),
            p.slices,
            fixed(p.dice, 4),
            fixed(p.hd95_mm, 2),
            p.detected_lesions,
            p.gt_lesions,
            p.egfr_label.map_or(dash(), |e| e.to_string()),
            fixed(p.p_mutant, 3),
            p.egfr_call.map_or(dash(), |e| e.to_string()),
            fixed(p.truth_p_mutant, 3),
        );
    }
    t.push_str("</table>");
    t
}

fn prop(p: &Proportion) -> String {
    fixed(p.value, 4)
}

fn interval(i: Option<Interval>) -> String {
    i.map_or(dash(), |i| format!("{:.3}-{:.3}", i.lower, i.upper))
}
