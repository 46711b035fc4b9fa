//! Tables 3-5 as CSV (every number), Markdown (for `docs/` and the README) and an HTML page
//! that links each run's own report.
use std::fmt::Write;

use mtsa_eval::escape_html as esc;

use crate::plan::Table;
use crate::results::Metric;
use crate::summary::SeedSummary;
use crate::tables::{p_text, TableRow, ALPHA};

/// Every row with every number: one line per table, split and system.
pub fn csv(rows: &[TableRow]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = ["table", "split", "system", "label", "seeds"]
        .map(String::from)
        .to_vec();
    for m in Metric::ALL {
        for part in ["mean", "sd", "ci_lower", "ci_upper", "paper"] {
            header.push(format!("{}_{part}", m.key()));
        }
    }
    header.extend(
        [
            "patients_paired",
            "p_dice",
            "p_hd95",
            "p_accuracy",
            "p_auc",
            "verdict",
        ]
        .map(String::from),
    );
    w.write_record(&header)?;
    let num = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.6}"));
    for r in rows {
        let mut rec = vec![
            r.table.to_string(),
            r.split.clone(),
            r.system.clone(),
            r.label.clone(),
            r.seeds.len().to_string(),
        ];
        for m in Metric::ALL {
            let s = r.metrics.get(&m);
            rec.push(num(s.map(|s| s.mean)));
            rec.push(num(s.map(|s| s.sd)));
            rec.push(num(s.map(|s| s.lower)));
            rec.push(num(s.map(|s| s.upper)));
            rec.push(num(r.paper.get(&m).copied()));
        }
        let c = r.versus_mtsa.as_ref();
        rec.push(c.map_or(String::new(), |c| c.patients.to_string()));
        rec.push(num(c.and_then(|c| c.dice.as_ref()).map(|t| t.p_value)));
        rec.push(num(c.and_then(|c| c.hd95.as_ref()).map(|t| t.p_value)));
        rec.push(num(c.and_then(|c| c.accuracy).map(|t| t.p_value)));
        rec.push(num(c.and_then(|c| c.auc).map(|t| t.p_value)));
        rec.push(c.map_or("reference".into(), |c| c.verdict.clone()));
        w.write_record(&rec)?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn cell(s: Option<&SeedSummary>, paper: Option<f64>, m: Metric) -> String {
    let d = m.digits();
    let ours = s.map_or("-".to_string(), |s| {
        format!(
            "{:.d$} ± {:.d$} [{:.d$}, {:.d$}]",
            s.mean, s.sd, s.lower, s.upper
        )
    });
    match paper {
        Some(p) => format!("{ours}; paper {p:.d$}"),
        None => ours,
    }
}

fn p_values(r: &TableRow) -> String {
    let Some(c) = &r.versus_mtsa else {
        return "reference".into();
    };
    let p = |v: Option<f64>| v.map_or("-".to_string(), p_text);
    format!(
        "{} / {} / {} / {}",
        p(c.dice.as_ref().map(|t| t.p_value)),
        p(c.hd95.as_ref().map(|t| t.p_value)),
        p(c.accuracy.map(|t| t.p_value)),
        p(c.auc.map(|t| t.p_value))
    )
}

/// The metrics any row of `rows` has, in table order.
fn columns(rows: &[&TableRow]) -> Vec<Metric> {
    Metric::ALL
        .into_iter()
        .filter(|m| rows.iter().any(|r| r.metrics.contains_key(m)))
        .collect()
}

fn groups(rows: &[TableRow]) -> Vec<(Table, String, Vec<&TableRow>)> {
    let mut out = Vec::new();
    for t in Table::ALL {
        let mut splits: Vec<&str> = Vec::new();
        for r in rows.iter().filter(|r| r.table == t.number()) {
            if !splits.contains(&r.split.as_str()) {
                splits.push(&r.split);
            }
        }
        for s in splits {
            let members = rows
                .iter()
                .filter(|r| r.table == t.number() && r.split == s)
                .collect();
            out.push((t, s.to_string(), members));
        }
    }
    out
}

const LEGEND: &str = "Cells: mean ± sd over seeds [95% t-interval of the mean]; the paper's \
number (internal test, 33 patients) after it. Dice, HD95, precision and recall are per-slice \
means over the GTV slices; EGFR metrics are per patient (top-half vote). p: paired tests \
against MTSA-Net on the same patients, seed-averaged per patient (Dice and HD95: paired patient \
bootstrap of the patient 3-D values; accuracy: exact McNemar; AUC: DeLong); verdicts at \
p < 0.05, unadjusted.";

/// The tables in Markdown.
pub fn markdown(rows: &[TableRow], preamble: &str) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "{preamble}\n\n{LEGEND}\n");
    for (t, split, members) in groups(rows) {
        let cols = columns(&members);
        let _ = writeln!(md, "### Table {}: {} ({split})\n", t.number(), t.title());
        let _ = write!(md, "| System |");
        for m in &cols {
            let _ = write!(md, " {} |", m.header());
        }
        let _ = writeln!(md, " p (Dice / HD95 / acc / AUC) | vs MTSA-Net |");
        let _ = writeln!(md, "|---|{}---|---|", "---|".repeat(cols.len()));
        for r in members {
            let _ = write!(md, "| {} |", r.label);
            for m in &cols {
                let _ = write!(
                    md,
                    " {} |",
                    cell(r.metrics.get(m), r.paper.get(m).copied(), *m)
                );
            }
            let verdict = r
                .versus_mtsa
                .as_ref()
                .map_or("reference", |c| c.verdict.as_str());
            let _ = writeln!(md, " {} | {verdict} |", p_values(r));
        }
        md.push('\n');
    }
    md
}

/// The tables as one HTML page; `report_link(system, seed)` gives each run's report, relative
/// to the page.
pub fn html(
    rows: &[TableRow],
    preamble: &str,
    report_link: &dyn Fn(&str, u64) -> String,
) -> String {
    let mut h = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>mtsa study</title><style>\
         body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}\
         td,th{border:1px solid #bbb;padding:4px 8px;font-size:13px}th{background:#eee}\
         .better{color:#060}.worse{color:#a00}</style></head><body><h1>mtsa study: Tables 3-5</h1>",
    );
    let _ = write!(h, "<p>{}</p><p>{}</p>", esc(preamble), esc(LEGEND));
    for (t, split, members) in groups(rows) {
        let cols = columns(&members);
        let _ = write!(
            h,
            "<h2>Table {}: {} ({})</h2><table><tr><th>System</th>",
            t.number(),
            esc(t.title()),
            esc(&split)
        );
        for m in &cols {
            let _ = write!(h, "<th>{}</th>", esc(m.header()));
        }
        h.push_str("<th>p (Dice / HD95 / acc / AUC)</th><th>vs MTSA-Net</th><th>runs</th></tr>");
        for r in members {
            let _ = write!(h, "<tr><td>{}</td>", esc(&r.label));
            for m in &cols {
                let _ = write!(
                    h,
                    "<td>{}</td>",
                    esc(&cell(r.metrics.get(m), r.paper.get(m).copied(), *m))
                );
            }
            let verdict = r
                .versus_mtsa
                .as_ref()
                .map_or("reference", |c| c.verdict.as_str());
            let class = if verdict.starts_with("MTSA-Net better") {
                "better"
            } else if verdict.starts_with("MTSA-Net worse") {
                "worse"
            } else {
                ""
            };
            let links: Vec<String> = r
                .seeds
                .iter()
                .map(|s| {
                    format!(
                        "<a href=\"{}\">seed {s}</a>",
                        esc(&report_link(&r.system, *s))
                    )
                })
                .collect();
            let _ = write!(
                h,
                "<td>{}</td><td class=\"{class}\">{}</td><td>{}</td></tr>",
                esc(&p_values(r)),
                esc(verdict),
                links.join(" ")
            );
        }
        h.push_str("</table>");
    }
    let _ = write!(h, "<p>Significance level {ALPHA}.</p></body></html>");
    h
}
