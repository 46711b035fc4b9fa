//! Inline SVG charts for the report (plotters' SVG backend needs no fonts or files).

use mtsa_infer::EpochRecord;
use mtsa_metrics::RocPoint;
use plotters::prelude::*;

type Series<'a> = (&'a str, RGBColor, Vec<(f64, f64)>);

/// ROC curve with the chance diagonal.
pub fn roc_svg(points: &[RocPoint], auc: Option<f64>) -> String {
    let mut curve: Vec<(f64, f64)> = points.iter().map(|p| (p.fpr, p.tpr)).collect();
    curve.insert(0, (0.0, 0.0));
    curve.push((1.0, 1.0));
    let title = match auc {
        Some(a) => format!("ROC (AUC {a:.3})"),
        None => "ROC".to_string(),
    };
    line_chart(
        &title,
        "1 - specificity",
        "sensitivity",
        (0.0, 1.0),
        (0.0, 1.0),
        &[
            ("model", RED, curve),
            (
                "chance",
                RGBColor(160, 160, 160),
                vec![(0.0, 0.0), (1.0, 1.0)],
            ),
        ],
    )
}

/// FROC: lesion sensitivity against false lesions per patient, one point per threshold.
pub fn froc_svg(name: &str, points: &[mtsa_metrics::GridPoint]) -> String {
    let curve: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|p| p.sensitivity.map(|s| (p.fp_per_patient, s)))
        .collect();
    let xmax = curve.iter().map(|p| p.0).fold(1.0f64, f64::max);
    line_chart(
        &format!("FROC, {name}"),
        "false lesions per patient",
        "lesion sensitivity",
        (0.0, xmax),
        (0.0, 1.0),
        &[("model", RED, curve)],
    )
}

/// Losses, validation Dice and EGFR accuracy per epoch.
pub fn training_svg(history: &[EpochRecord]) -> (String, String) {
    let xs = |f: &dyn Fn(&EpochRecord) -> Option<f64>| -> Vec<(f64, f64)> {
        history
            .iter()
            .filter_map(|r| f(r).map(|y| (r.epoch as f64, y)))
            .collect()
    };
    let last = history.last().map_or(1.0, |r| r.epoch as f64).max(1.0);
    let losses = [
        ("train loss", BLUE, xs(&|r| Some(r.train_loss))),
        ("val loss", RED, xs(&|r| Some(r.val_loss))),
    ];
    let ymin = losses
        .iter()
        .flat_map(|s| s.2.iter().map(|p| p.1))
        .fold(f64::INFINITY, f64::min)
        .min(0.0);
    let ymax = losses
        .iter()
        .flat_map(|s| s.2.iter().map(|p| p.1))
        .fold(f64::NEG_INFINITY, f64::max)
        .max(0.1);
    let loss_svg = line_chart(
        "Loss",
        "epoch",
        "loss",
        (1.0, last),
        (ymin, ymax * 1.05),
        &losses,
    );
    let quality = line_chart(
        "Validation",
        "epoch",
        "score",
        (1.0, last),
        (0.0, 1.0),
        &[
            ("Dice", GREEN, xs(&|r| Some(r.val_dice))),
            ("EGFR accuracy", MAGENTA, xs(&|r| r.val_egfr_acc)),
        ],
    );
    (loss_svg, quality)
}

fn line_chart(
    title: &str,
    xl: &str,
    yl: &str,
    x: (f64, f64),
    y: (f64, f64),
    series: &[Series],
) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (420, 320)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(x.0..x.1.max(x.0 + 1e-9), y.0..y.1.max(y.0 + 1e-9));
        let Ok(mut chart) = chart else {
            return svg_error(title);
        };
        let _ = chart.configure_mesh().x_desc(xl).y_desc(yl).draw();
        for (name, color, pts) in series {
            let color = *color;
            if let Ok(drawn) =
                chart.draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
            {
                drawn
                    .label(*name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
            }
        }
        let _ = chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw();
        let _ = root.present();
    }
    svg
}

fn svg_error(title: &str) -> String {
    format!("<p>{title}: no chart (empty range)</p>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_svg_is_an_svg_with_the_auc_in_its_title() {
        let pts = vec![
            RocPoint {
                fpr: 0.0,
                tpr: 0.5,
                threshold: 0.9,
            },
            RocPoint {
                fpr: 0.5,
                tpr: 1.0,
                threshold: 0.4,
            },
        ];
        let svg = roc_svg(&pts, Some(0.875));
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        assert!(svg.contains("AUC 0.875"));
    }
}
