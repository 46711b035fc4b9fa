//! A candidate's in-plane look, scored by small networks trained on the training scans' bright
//! spots: the thick-slice lesion classifier's eighth feature [ours; beyond the paper].
//!
//! Why: on 4 mm slices with twice the noise a metastasis of a few millimetres is dimmer than the
//! scan's vessels, so the classifier's brightness features reject it (`docs/whole-scan.md`,
//! twenty-fourth session), though a radiologist tells the two apart by their shape in the slice:
//! a round spot in parenchyma against a sheet or a curve in a sulcus. The look is the contrast
//! ([`Contrast`]) sampled on a 25 x 25 mm square at 1 mm around the candidate's brightest
//! voxel, in its slice, summarised as rotation-free numbers: the mean, minimum, maximum and
//! standard deviation on each of [`RINGS`] rings 1 mm wide, and the second moments of the
//! bright part within 6 mm (how round it is). What separates the two is learnt from the training
//! patients (thousands of bright spots, hundreds of lesions, both seen on their own slices and
//! through slices twice as thick, [`crate::thick_view`]), not from the 20 validation patients
//! the classifier itself is fitted on. Measured on the twenty-fourth session's demo runs before
//! it was built (scikit-learn's MLP, gradient boosting and logistic regression on these
//! numbers; `docs/whole-scan.md`, twenty-fifth session).

use crate::contrast::Contrast;
use crate::thick_view::{slice_axis, thicker_slices};
use mtsa_io::Volume;
use mtsa_metrics::connected_components_3d;
use mtsa_radiomics::model::Standardizer;
use ndarray::{Array3, Zip};
use serde::{Deserialize, Serialize};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// Rings around the brightest voxel, 1 mm wide: the centre sample, then [1, 2) mm ... [11, 12).
pub const RINGS: usize = 12;
/// Numbers describing one look: four per ring and four moments.
pub const LOOK_SIZE: usize = 4 * RINGS + 4;
/// Half the square's side in samples (1 mm apart).
const HALF: i64 = 12;
/// Contrast given to background (outside the brain, or outside the image).
const OUTSIDE: f64 = -3.0;
/// The bright part whose moments describe the candidate's roundness: samples above half the
/// centre's contrast, within this radius (mm).
const MOMENT_RADIUS: f64 = 6.0;
/// Networks averaged (their logits): one network's score moved with its random start enough
/// to change site C's chosen cut (small lesions 0.455-0.636 over three starts); five agree.
const NETS: usize = 5;
const HIDDEN: i64 = 32;
const EPOCHS: usize = 60;
const BATCH: usize = 200;
const LEARNING_RATE: f64 = 1e-3;
/// L2 penalty on the weights per step (scikit-learn's `alpha = 0.01` over its batch of 200).
const WEIGHT_DECAY: f64 = 5e-5;
/// Logits are clamped to this (probabilities 1e-4 to 1 - 1e-4).
const MAX_LOGIT: f64 = 9.21;

/// The look of the candidate whose brightest voxel is `at`: [`LOOK_SIZE`] numbers.
pub fn look(image: &Volume<f32>, contrast: &Contrast, at: [usize; 3]) -> Vec<f64> {
    let axis = slice_axis(&image.affine);
    let spacing = image.spacing();
    let (a, b) = match axis {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    };
    let dims = image.data.shape();
    let value = |ia: i64, ib: i64| -> f64 {
        if ia < 0 || ib < 0 || ia as usize >= dims[a] || ib as usize >= dims[b] {
            return OUTSIDE;
        }
        let mut q = at;
        q[a] = ia as usize;
        q[b] = ib as usize;
        match image.data[q] {
            0.0 => OUTSIDE,
            v => contrast.of_value(f64::from(v)),
        }
    };
    // Bilinear samples 1 mm apart in the slice, row along axis `a`.
    let side = (2 * HALF + 1) as usize;
    let mut samples = vec![0.0; side * side];
    for (r, dr) in (-HALF..=HALF).enumerate() {
        for (c, dc) in (-HALF..=HALF).enumerate() {
            let xa = at[a] as f64 + dr as f64 / spacing[a];
            let xb = at[b] as f64 + dc as f64 / spacing[b];
            let (a0, b0) = (xa.floor(), xb.floor());
            let (fa, fb) = (xa - a0, xb - b0);
            let (a0, b0) = (a0 as i64, b0 as i64);
            samples[r * side + c] = (1.0 - fa) * (1.0 - fb) * value(a0, b0)
                + (1.0 - fa) * fb * value(a0, b0 + 1)
                + fa * (1.0 - fb) * value(a0 + 1, b0)
                + fa * fb * value(a0 + 1, b0 + 1);
        }
    }
    describe(&samples, side)
}

/// The rings' statistics and the bright part's moments of a `side` x `side` square.
fn describe(samples: &[f64], side: usize) -> Vec<f64> {
    let centre = (side / 2) as f64;
    let at = |r: usize, c: usize| (r as f64 - centre, c as f64 - centre);
    let mut rings: Vec<Vec<f64>> = vec![Vec::new(); RINGS];
    for r in 0..side {
        for c in 0..side {
            let (dr, dc) = at(r, c);
            let ring = dr.hypot(dc).floor() as usize;
            if ring < RINGS {
                rings[ring].push(samples[r * side + c]);
            }
        }
    }
    let mut out = Vec::with_capacity(LOOK_SIZE);
    for ring in &rings {
        let n = ring.len() as f64;
        let mean = ring.iter().sum::<f64>() / n;
        let var = ring.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        let min = ring.iter().copied().fold(f64::INFINITY, f64::min);
        let max = ring.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        out.extend([mean, min, max, var.sqrt()]);
    }
    let half_centre = 0.5 * samples[(side / 2) * side + side / 2];
    let (mut s, mut mrr, mut mcc, mut mrc) = (1e-6, 0.0, 0.0, 0.0);
    for r in 0..side {
        for c in 0..side {
            let (dr, dc) = at(r, c);
            if dr.hypot(dc) <= MOMENT_RADIUS {
                let w = (samples[r * side + c] - half_centre).max(0.0);
                s += w;
                mrr += w * dr * dr;
                mcc += w * dc * dc;
                mrc += w * dr * dc;
            }
        }
    }
    let (mrr, mcc, mrc) = (mrr / s, mcc / s, mrc / s);
    let (trace, det) = (mrr + mcc, mrr * mcc - mrc * mrc);
    let spread = (trace * trace / 4.0 - det).max(0.0).sqrt();
    let (long, short) = (trace / 2.0 + spread, trace / 2.0 - spread);
    out.extend([
        long.ln_1p(),
        short.max(0.0).ln_1p(),
        short / (long + 1e-6),
        s.ln_1p(),
    ]);
    out
}

/// One scan's examples for the look model: every bright spot (a 26-connected component of the
/// voxels above the `bright` contrast, the classifier's bright candidates) at its brightest
/// voxel, a lesion when it touches the GTV, and every GTV lesion at its brightest voxel; on the
/// scan's own slices and through slices twice as thick.
pub fn examples(image: &Volume<f32>, gt: &Volume<u8>, bright: f64) -> Vec<(Vec<f64>, bool)> {
    let mut out = views(image, gt, bright);
    if let Some((image, gt)) = thicker_slices(image, gt) {
        out.extend(views(&image, &gt, bright));
    }
    out
}

/// [`examples`] of one view of a scan: its bright spots in label order, then its lesions.
fn views(image: &Volume<f32>, gt: &Volume<u8>, bright: f64) -> Vec<(Vec<f64>, bool)> {
    let contrast = Contrast::of(&image.data);
    let spots = image
        .data
        .mapv(|v| v != 0.0 && contrast.of_value(f64::from(v)) > bright);
    let truth = gt.data.mapv(|v| v != 0);
    let (labels, n) = connected_components_3d(spots.view());
    // A spot touches the GTV when any of its voxels does.
    let mut touches = vec![false; n];
    Zip::from(&labels).and(&truth).for_each(|&l, &t| {
        if l != 0 && t {
            touches[l as usize - 1] = true;
        }
    });
    let mut out: Vec<(Vec<f64>, bool)> = brightest_voxels(&image.data, &labels, n)
        .into_iter()
        .zip(touches)
        .map(|(at, touch)| (look(image, &contrast, at), touch))
        .collect();
    let (lesions, m) = connected_components_3d(truth.view());
    out.extend(
        brightest_voxels(&image.data, &lesions, m)
            .into_iter()
            .map(|at| (look(image, &contrast, at), true)),
    );
    out
}

/// The brightest voxel of each of the `n` components of `labels` (1-based), in label order.
pub(crate) fn brightest_voxels(
    image: &Array3<f32>,
    labels: &Array3<u32>,
    n: usize,
) -> Vec<[usize; 3]> {
    let mut best = vec![(f32::NEG_INFINITY, [0usize; 3]); n];
    Zip::indexed(labels)
        .and(image)
        .for_each(|(i, j, k), &l, &v| {
            if l != 0 && v > best[l as usize - 1].0 {
                best[l as usize - 1] = (v, [i, j, k]);
            }
        });
    best.into_iter().map(|(_, at)| at).collect()
}

/// One network: `LOOK_SIZE -> HIDDEN (ReLU) -> 1`, on standardised looks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookNet {
    /// HIDDEN rows of LOOK_SIZE.
    pub hidden_weight: Vec<Vec<f64>>,
    pub hidden_bias: Vec<f64>,
    pub output_weight: Vec<f64>,
    pub output_bias: f64,
}

impl LookNet {
    fn logit(&self, z: &[f64]) -> f64 {
        let hidden = self
            .hidden_weight
            .iter()
            .zip(&self.hidden_bias)
            .map(|(w, b)| (w.iter().zip(z).map(|(w, x)| w * x).sum::<f64>() + b).max(0.0));
        hidden
            .zip(&self.output_weight)
            .map(|(h, w)| h * w)
            .sum::<f64>()
            + self.output_bias
    }

    fn consistent(&self) -> bool {
        let n = self.hidden_bias.len();
        n > 0
            && self.hidden_weight.len() == n
            && self.output_weight.len() == n
            && self.hidden_weight.iter().all(|w| w.len() == LOOK_SIZE)
    }
}

/// The look model, stored in the thick-slice classifier's record
/// ([`crate::LesionClassifier::look`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookModel {
    /// Standardisation of the looks (the training examples' mean and standard deviation).
    pub standardizer: Standardizer,
    pub nets: Vec<LookNet>,
    /// Training examples (lesions among them).
    pub examples: usize,
    pub lesions: usize,
}

impl LookModel {
    /// The networks' mean logit that a candidate with this look is a lesion.
    pub fn logit(&self, look: &[f64]) -> f64 {
        let z = self.standardizer.transform_row(look);
        let sum: f64 = self
            .nets
            .iter()
            .map(|n| n.logit(&z).clamp(-MAX_LOGIT, MAX_LOGIT))
            .sum();
        sum / self.nets.len() as f64
    }

    /// Why a stored model cannot be applied by this build, if it cannot.
    pub fn problem(&self) -> Option<String> {
        let s = &self.standardizer;
        let ok = s.mean.len() == LOOK_SIZE
            && s.scale.len() == LOOK_SIZE
            && s.scale.iter().all(|v| v.is_finite() && *v > 0.0)
            && !self.nets.is_empty()
            && self.nets.iter().all(LookNet::consistent);
        (!ok).then(|| {
            format!(
                "the look model must standardise {LOOK_SIZE} numbers and hold networks of \
                 {LOOK_SIZE} inputs"
            )
        })
    }

    /// Fits [`NETS`] networks on the `looks` and whether each is a lesion (Adam, binary
    /// cross-entropy, seeded: the same examples give the same model on a CPU). `None` with one
    /// class only.
    pub fn fit(looks: &[Vec<f64>], lesion: &[bool], seed: u64) -> Option<Self> {
        let lesions = lesion.iter().filter(|l| **l).count();
        if lesions == 0 || lesions == lesion.len() {
            return None;
        }
        let standardizer = Standardizer::fit(looks);
        let z: Vec<f32> = standardizer
            .transform(looks)
            .into_iter()
            .flatten()
            .map(|v| v as f32)
            .collect();
        let x = Tensor::from_slice(&z).view([looks.len() as i64, LOOK_SIZE as i64]);
        let y = Tensor::from_slice(
            &lesion
                .iter()
                .map(|l| f32::from(u8::from(*l)))
                .collect::<Vec<f32>>(),
        )
        .view([-1, 1]);
        let nets = fit_nets(&x, &y, seed)?;
        Some(Self {
            standardizer,
            nets,
            examples: looks.len(),
            lesions,
        })
    }
}

/// [`NETS`] networks fitted on standardised `x` (N x LOOK_SIZE) and `y` (N x 1, 0/1), side
/// by side: network k starts from the weights and draws the shuffles that
/// `tch::manual_seed(seed + k)` gives it alone, and its loss is its own batch's mean, so each
/// learns as if it were fitted by itself (up to rounding: the batched products sum in another
/// order), but one step of the stacked weights (K x LOOK_SIZE x HIDDEN) moves all K. Why: the
/// networks are so small that libtorch's cost per operation is the fit's cost (41 s for five
/// fitted one after another on a 2-core AVX2-only EPYC, about 10 s side by side;
/// `docs/whole-scan.md`), and K networks in one batched product pay it once.
fn fit_nets(x: &Tensor, y: &Tensor, seed: u64) -> Option<Vec<LookNet>> {
    let n = x.size()[0];
    let mut starts = Vec::with_capacity(NETS);
    // Each network's shuffles, EPOCHS x N (32-bit: ~15 MB a network for 60 000 examples).
    let mut shuffles = Vec::with_capacity(NETS);
    for k in 0..NETS as u64 {
        tch::manual_seed(seed.wrapping_add(k) as i64);
        let alone = nn::VarStore::new(Device::Cpu);
        let hidden = nn::linear(
            alone.root() / "hidden",
            LOOK_SIZE as i64,
            HIDDEN,
            Default::default(),
        );
        let output = nn::linear(alone.root() / "output", HIDDEN, 1, Default::default());
        let perms: Vec<Tensor> = (0..EPOCHS)
            .map(|_| Tensor::randperm(n, (Kind::Int, Device::Cpu)))
            .collect();
        shuffles.push(Tensor::stack(&perms, 0));
        starts.push([
            hidden.ws.tr(),
            hidden.bs?.view([1, HIDDEN]),
            output.ws.tr(),
            output.bs?.view([1, 1]),
        ]);
    }
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let stacked = |name: &str, i: usize| {
        let parts: Vec<&Tensor> = starts.iter().map(|s| &s[i]).collect();
        root.var_copy(name, &Tensor::stack(&parts, 0))
    };
    let hidden_w = stacked("hidden_weight", 0); // K x LOOK_SIZE x HIDDEN
    let hidden_b = stacked("hidden_bias", 1); // K x 1 x HIDDEN
    let output_w = stacked("output_weight", 2); // K x HIDDEN x 1
    let output_b = stacked("output_bias", 3); // K x 1 x 1
    let mut opt = nn::Adam::default()
        .wd(WEIGHT_DECAY)
        .build(&vs, LEARNING_RATE)
        .ok()?;
    let k = NETS as i64;
    for epoch in 0..EPOCHS as i64 {
        let order: Vec<Tensor> = shuffles.iter().map(|s| s.get(epoch)).collect();
        let order = Tensor::stack(&order, 0); // K x N
        for start in (0..n).step_by(BATCH) {
            let len = (BATCH as i64).min(n - start);
            let idx = order.narrow(1, start, len).reshape([-1]);
            let xb = x.index_select(0, &idx).view([k, len, LOOK_SIZE as i64]);
            let yb = y.index_select(0, &idx).view([k, len, 1]);
            let logits = (xb.bmm(&hidden_w) + &hidden_b).relu().bmm(&output_w) + &output_b;
            // Each network's mean over its batch, summed: the gradients stay each one's own.
            let loss = logits
                .binary_cross_entropy_with_logits::<Tensor>(&yb, None, None, tch::Reduction::None)
                .mean_dim(&[1i64, 2][..], false, Kind::Float)
                .sum(Kind::Float);
            opt.backward_step(&loss);
        }
    }
    let to_vec = |t: &Tensor| Vec::<f64>::try_from(t.to_kind(Kind::Double).flatten(0, -1)).ok();
    (0..k)
        .map(|i| {
            let w = to_vec(&hidden_w.get(i).tr())?;
            Some(LookNet {
                hidden_weight: w.chunks(LOOK_SIZE).map(<[f64]>::to_vec).collect(),
                hidden_bias: to_vec(&hidden_b.get(i))?,
                output_weight: to_vec(&output_w.get(i))?,
                output_bias: *to_vec(&output_b.get(i))?.first()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mtsa_io::diagonal_affine;

    /// Brain at 100 (the median) with a tenth at 200 in one corner (so the contrast has a
    /// spread), on 1 mm voxels and three 2 mm slices; `paint` adds structures at 600 (contrast 2.6).
    fn scene(paint: impl Fn(usize, usize) -> bool) -> Volume<f32> {
        let data = Array3::from_shape_fn((40, 40, 3), |(i, j, k)| match (i, j) {
            _ if k == 1 && paint(i, j) => 600.0,
            (i, j) if i < 12 && j < 14 => 200.0,
            _ => 100.0,
        });
        Volume::new(data, diagonal_affine([1.0, 1.0, 2.0], [0.0; 3]))
    }

    /// Where the look's moments sit: after the rings.
    const LONG: usize = 4 * RINGS;
    const ROUNDNESS: usize = 4 * RINGS + 2;

    #[test]
    fn a_round_spot_and_a_line_of_the_same_brightness_look_different() {
        let spot = scene(|i, j| (i as f64 - 25.0).hypot(j as f64 - 25.0) <= 2.0);
        let line = scene(|i, j| i == 25 && (15..36).contains(&j));
        let (s, l) = (
            look(&spot, &Contrast::of(&spot.data), [25, 25, 1]),
            look(&line, &Contrast::of(&line.data), [25, 25, 1]),
        );
        assert_eq!(s.len(), LOOK_SIZE);
        // The same centre, the same brightness.
        assert!(
            (s[0] - l[0]).abs() < 1e-9 && s[0] > 2.0,
            "{} {}",
            s[0],
            l[0]
        );
        // The spot is round, the line is not; the line runs on out to 10 mm and more.
        assert!(s[ROUNDNESS] > 0.9, "{}", s[ROUNDNESS]);
        assert!(l[ROUNDNESS] < 0.1, "{}", l[ROUNDNESS]);
        assert!(l[LONG] > s[LONG]);
        let ring_max = |v: &[f64], r: usize| v[4 * r + 2];
        assert!(ring_max(&l, 8) > 2.0 && ring_max(&s, 8) < 1.0);
        // Outside the image and outside the brain count as background.
        let edge = look(&spot, &Contrast::of(&spot.data), [0, 0, 1]);
        assert_eq!(edge[4 * (RINGS - 1) + 1], OUTSIDE);
    }

    /// One lesion (the GTV) and one bright spot without GTV: on the scan's slices each spot is
    /// an example and the lesion once more as a lesion; on the thick view (slices 0 and 1
    /// averaged) both spots fall under the bright level and the lesion alone is an example.
    #[test]
    fn the_training_scans_bright_spots_are_labelled_by_the_gtv() {
        let image = scene(|i, j| {
            (i as f64 - 25.0).hypot(j as f64 - 25.0) <= 2.0 || (i == 32 && (20..30).contains(&j))
        });
        let gt = image
            .data
            .indexed_iter()
            .map(|((i, j, k), _)| {
                u8::from(k == 1 && (i as f64 - 25.0).hypot(j as f64 - 25.0) <= 2.0)
            })
            .collect::<Vec<u8>>();
        let gt = Volume::new(
            Array3::from_shape_vec((40, 40, 3), gt).expect("shape"),
            image.affine,
        );
        let labels: Vec<bool> = examples(&image, &gt, 2.0)
            .into_iter()
            .map(|e| e.1)
            .collect();
        // Raster order: the spot at i = 23..=27 comes before the line at i = 32; then the GTV.
        assert_eq!(labels, [true, false, true, true]);
    }

    #[test]
    fn the_model_learns_separable_looks_the_same_way_every_time() {
        let example = |v: f64, lesion: bool| {
            let mut look = vec![0.0; LOOK_SIZE];
            look[0] = v;
            look[LOOK_SIZE - 1] = -v;
            (look, lesion)
        };
        let (looks, lesion): (Vec<_>, Vec<_>) = (0..60)
            .map(|i| {
                example(
                    f64::from(i % 10) + if i % 3 == 0 { 20.0 } else { 0.0 },
                    i % 3 == 0,
                )
            })
            .unzip();
        let model = LookModel::fit(&looks, &lesion, 7).expect("two classes");
        assert_eq!(model.problem(), None);
        assert_eq!((model.examples, model.lesions), (60, 20));
        assert!(model.logit(&example(25.0, true).0) > 0.0);
        assert!(model.logit(&example(5.0, false).0) < 0.0);
        assert_eq!(LookModel::fit(&looks, &lesion, 7).as_ref(), Some(&model));
        assert!(
            LookModel::fit(&looks[1..3], &lesion[1..3], 7).is_none(),
            "one class"
        );
        let mut short = model.clone();
        short.nets[0].hidden_weight[3].pop();
        assert!(short.problem().is_some());
    }
}
