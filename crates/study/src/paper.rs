//! The numbers Zhou et al. 2023 publish (internal test set, 33 patients), printed beside ours.
//! Transcribed from Tables 3-5 of the paper's text (`shared/paper/`); `None` where the paper
//! leaves the cell empty.
use crate::plan::Table;
use crate::results::Metric;

/// Dice, HD95 (mm), pixel precision, pixel recall, EGFR accuracy, precision, recall, F1.
type Row = [Option<f64>; 8];

const fn seg(dice: f64, hd95: f64, precision: f64, recall: f64) -> Row {
    [
        Some(dice),
        Some(hd95),
        Some(precision),
        Some(recall),
        None,
        None,
        None,
        None,
    ]
}

const fn cls(accuracy: f64, precision: f64, recall: f64, f1: f64) -> Row {
    [
        None,
        None,
        None,
        None,
        Some(accuracy),
        Some(precision),
        Some(recall),
        Some(f1),
    ]
}

const MTSA: Row = [
    Some(0.8914),
    Some(3.58),
    Some(0.9063),
    Some(0.9035),
    Some(0.8788),
    Some(0.9412),
    Some(0.8421),
    Some(0.8889),
];

/// The published value of `metric` for system `id` in `table`; the paper reports the internal
/// test set only.
pub fn published(table: Table, id: &str, metric: Metric) -> Option<f64> {
    let row: Row = match (table, id) {
        (_, "mtsa-net") => MTSA,
        (Table::Comparison, "raunet") => seg(0.8729, 3.67, 0.9128, 0.8697),
        (Table::Comparison, "swin-unet") => seg(0.6395, 6.51, 0.7143, 0.6574),
        (Table::Comparison, "transunet") => seg(0.8565, 3.78, 0.8794, 0.8631),
        (Table::Comparison, "unet") => seg(0.8888, 3.63, 0.9031, 0.9011),
        (Table::Comparison, "deseg") => seg(0.8566, 4.13, 0.8890, 0.8789),
        (Table::Comparison, "unet3plus") => seg(0.7946, 4.63, 0.7205, 0.9412),
        (Table::Comparison, "resnet50") => cls(0.7879, 0.8333, 0.7895, 0.8108),
        (Table::Comparison, "radiomics") => cls(0.6061, 0.6667, 0.6316, 0.6486),
        (Table::Comparison, "rn-gap") => cls(0.7273, 0.7778, 0.7368, 0.7568),
        (Table::Comparison, "se-resnet50") => cls(0.8182, 0.8824, 0.7895, 0.8333),
        (Table::Comparison, "densenet121") => cls(0.7879, 0.8000, 0.8421, 0.8205),
        (Table::FocalAlpha, "mtsa-net-alpha0.7") => [
            Some(0.8773),
            Some(3.71),
            Some(0.8911),
            Some(0.8932),
            Some(0.8485),
            Some(0.8889),
            Some(0.8421),
            None,
        ],
        (Table::FocalAlpha, "mtsa-net-alpha0.9") => [
            Some(0.8827),
            Some(3.66),
            Some(0.9047),
            Some(0.8922),
            Some(0.8788),
            Some(0.8947),
            Some(0.8947),
            None,
        ],
        (Table::TaskWeights, "mtsa-net-equal") => [
            Some(0.8656),
            Some(3.83),
            Some(0.9190),
            Some(0.8626),
            Some(0.8485),
            Some(0.8500),
            Some(0.8947),
            None,
        ],
        _ => return None,
    };
    let column = match metric {
        Metric::Dice => 0,
        Metric::Hd95 => 1,
        Metric::PixelPrecision => 2,
        Metric::PixelRecall => 3,
        Metric::Accuracy => 4,
        Metric::Precision => 5,
        Metric::Recall => 6,
        Metric::F1 => 7,
        Metric::Auc => return None,
    };
    row[column]
}
