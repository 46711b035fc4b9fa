//! `mtsa bench`: times the real network (random-init weights: timing does not depend on them).
//!
//! - `infer`: one forward pass of a batch in eval mode, no autograd;
//! - `train`: one optimiser step (forward, joint loss, backward, Adam) on random slices, masks
//!   and labels;
//! - `patient`: a whole synthetic 30-slice volume, I/O included: read NIfTI, preprocess, forward
//!   of every brain slice, restore the probabilities to the source grid, write the mask NIfTI.
//!
//! Warm-up iterations first, then `--iters` timed ones; median, min and max wall time, slices per
//! second and the process's peak resident memory (VmHWM). `--threads` is the global option.
//! `bench/compare.sh` runs this against `bench/pytorch_reference.py`.
use anyhow::{bail, Result};
use mtsa_data::PreprocessConfig;
use mtsa_eval::PredictOptions;
use mtsa_io::{diagonal_affine, write_nifti, Volume};
use mtsa_model::{
    count_net_params, save_weights, JointLoss, Layout, LayoutCache, LayoutSource, LossConfig,
    MtsaConfig, MtsaNet, NET_PREFIX,
};
use mtsa_train::{load_trained, RunPaths};
use ndarray::Array3;
use serde::Serialize;
use std::time::Instant;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Infer,
    Train,
    Patient,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// What `mtsa predict` and `mtsa evaluate` run: the weights loaded from a run folder by
    /// `load_trained`, prepared for inference (BatchNorm folded, strips merged) in the layout
    /// `--layout` chooses, and run through `TrainedModel::predict`.
    Predict,
    /// The trainable `MtsaNet`, unprepared, eval mode under no_grad, NCHW.
    Plain,
}

#[derive(clap::Args)]
pub struct Args {
    /// Model preset: tiny, small or paper.
    #[arg(long, default_value = "small")]
    preset: String,
    #[arg(long, value_enum, default_value = "infer")]
    mode: Mode,
    /// Slices per forward (default: 1 for infer, 4 for train, 8 for patient as predict uses).
    #[arg(long)]
    batch: Option<i64>,
    /// Timed iterations.
    #[arg(long, default_value_t = 10)]
    iters: usize,
    /// Untimed iterations first.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Inference path of infer mode (patient mode always runs predict's; train the
    /// trainable net).
    #[arg(long, value_enum, default_value = "predict")]
    engine: Engine,
    /// Device, layout and number format, as `predict` takes them; the layout also applies to
    /// train mode (as `train` chooses it), the number format to the predict engine and patient
    /// mode only.
    #[command(flatten)]
    inference: crate::inference_args::InferenceArgs,
    /// Keep freed memory in the process (glibc mallopt) instead of returning large blocks to the
    /// kernel after every op.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    keep_memory: bool,
    /// Slices of the synthetic patient volume (patient mode).
    #[arg(long, default_value_t = 30)]
    slices: usize,
    /// Print one JSON object instead of the human summary.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Report {
    tool: &'static str,
    preset: String,
    mode: Mode,
    engine: Engine,
    /// Layout the timed forward ran in.
    layout: Layout,
    /// How it was chosen: requested, cached or measured.
    layout_source: &'static str,
    /// The measured medians per forward behind an auto choice.
    layout_nchw_s: Option<f64>,
    layout_nhwc_s: Option<f64>,
    /// Number format of the predict engine and patient mode (train and plain: f32).
    precision: mtsa_model::Precision,
    keep_memory: bool,
    batch: i64,
    slices_per_iter: usize,
    iters: usize,
    warmup: usize,
    threads: i32,
    device: String,
    params: usize,
    gflop_per_slice_fwd: f64,
    median_s: f64,
    min_s: f64,
    max_s: f64,
    times_s: Vec<f64>,
    /// Process CPU time (all threads) per timed iteration, median: steadier than wall time
    /// on a shared machine.
    cpu_median_s: f64,
    slices_per_s: f64,
    ms_per_slice: f64,
    /// Forward FLOPs (x3 for a train step: forward + backward) per second at the median.
    gflops_per_s: f64,
    peak_rss_mib: Option<f64>,
    /// Predict engine vs the plain eval forward on the same random batch.
    max_abs_diff_gtv_logits: Option<f64>,
    max_abs_diff_egfr_logits: Option<f64>,
}

pub fn run(a: Args) -> Result<()> {
    let cfg = MtsaConfig::preset(&a.preset)?;
    if a.iters == 0 {
        bail!("--iters must be at least 1");
    }
    let batch = a.batch.unwrap_or(match a.mode {
        Mode::Infer => 1,
        Mode::Train => 4,
        Mode::Patient => 8,
    });
    if batch < 1 {
        bail!("--batch must be at least 1");
    }
    // How the predict engine and patient mode load the run: as `predict` would.
    let load = a.inference.load(batch as usize)?;
    let device = load.device;
    let keep_memory = a.keep_memory && crate::memory::keep_freed_memory();
    tch::manual_seed(0);

    let mut vs = VarStore::new(device);
    let net = MtsaNet::new(&(vs.root() / NET_PREFIX), &cfg)?;
    let params = count_net_params(&vs);
    let mut diff = (None, None);
    // The product's own run folder and loader, holding these random-init weights.
    let dir = tempfile::tempdir()?;
    let run = dir.path().join("run");
    std::fs::create_dir_all(&run)?;
    save_weights(&vs, &cfg, &RunPaths::new(&run).best())?;
    let mut layout = (Layout::Nchw, LayoutSource::Requested);

    let ((times, cpu), slices_per_iter) = match a.mode {
        Mode::Infer => {
            let x = Tensor::rand(
                [batch, cfg.in_channels, cfg.size, cfg.size],
                (Kind::Float, device),
            );
            let mut step: Box<dyn FnMut() -> Result<(Tensor, Tensor)>> = match a.engine {
                Engine::Plain => Box::new(|| Ok(tch::no_grad(|| net.forward_t(&x, false)))),
                Engine::Predict => {
                    let model = load_trained(&run, load)?;
                    layout = (model.layout, model.layout_source.clone());
                    let x_cpu = x.to_device(Device::Cpu);
                    let (g0, e0) = tch::no_grad(|| net.forward_t(&x, false));
                    let p = model.predict(&x_cpu, batch as usize)?;
                    diff = (
                        Some(max_abs(&g0.to_device(Device::Cpu), &p.gtv_logits)),
                        Some(max_abs(&e0.to_device(Device::Cpu), &p.egfr_logits)),
                    );
                    Box::new(move || {
                        let p = model.predict(&x_cpu, batch as usize)?;
                        Ok((p.gtv_logits, p.egfr_logits))
                    })
                }
            };
            let mut failure = None;
            let times = time_it(a.warmup, a.iters, device, || {
                if failure.is_none() {
                    match step() {
                        // Touch the results so nothing can be deferred.
                        Ok((g, e)) => drop((g.size(), e.size())),
                        Err(e) => failure = Some(e),
                    }
                }
            });
            if let Some(e) = failure {
                return Err(e);
            }
            (times, batch as usize)
        }
        Mode::Train => {
            let loss_cfg = LossConfig::default();
            let loss = JointLoss::new(&vs.root(), loss_cfg);
            // The layout training would choose (measured, cached or requested).
            let (chosen, source) = mtsa_model::choose_training_layout(
                load.layout,
                &cfg,
                loss_cfg,
                device,
                batch,
                LayoutCache::default_path().as_deref(),
            )?;
            mtsa_model::use_layout(&vs, chosen);
            layout = (chosen, source);
            // The optimiser training runs (its own Adam, whose moments a checkpoint can save).
            let mut opt = mtsa_train::Adam::new(&vs, 3e-4, 1e-8);
            let x = Tensor::rand(
                [batch, cfg.in_channels, cfg.size, cfg.size],
                (Kind::Float, device),
            );
            let mask = Tensor::rand([batch, 1, cfg.size, cfg.size], (Kind::Float, device))
                .lt(0.1)
                .to_kind(Kind::Float);
            let label = Tensor::randint(2, [batch], (Kind::Int64, device));
            let times = time_it(a.warmup, a.iters, device, || {
                let (g, e) = net.forward_t(&x, true);
                let parts = loss.compute(&g, &e, &mask, &label);
                opt.zero_grad();
                parts.total.backward();
                opt.step();
            });
            (times, batch as usize)
        }
        Mode::Patient => {
            // The product's own predict path (mtsa_eval::predict) on the run folder: file in,
            // mask and EGFR files out, nothing bench-specific.
            let pre = PreprocessConfig {
                size: cfg.size as usize,
                ..PreprocessConfig::default()
            };
            std::fs::write(
                RunPaths::new(&run).preprocess(),
                serde_json::to_string(&pre)?,
            )?;
            // The layout predict will choose (from the cache the first load fills on auto).
            let model = load_trained(&run, load)?;
            layout = (model.layout, model.layout_source);
            let input = dir.path().join("t1ce.nii.gz");
            write_nifti(&input, &synthetic_volume(a.slices))?;
            let opts = PredictOptions {
                run,
                input,
                out: dir.path().join("pred"),
                load,
                outputs: Default::default(),
                series: Default::default(),
                brain_mask: None,
            };
            let mut failure = None;
            let times = time_it(a.warmup, a.iters, device, || {
                if failure.is_none() {
                    if let Err(e) = mtsa_eval::predict(&opts) {
                        failure = Some(e);
                    }
                }
            });
            if let Some(e) = failure {
                return Err(e.into());
            }
            (times, a.slices)
        }
    };
    vs.freeze();

    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = median(&sorted);
    let mut cpu_sorted = cpu;
    cpu_sorted.sort_by(f64::total_cmp);
    let cpu_median = self::median(&cpu_sorted);
    let gflop = mtsa_model::gflops_per_slice(&cfg);
    let flop_factor = if a.mode == Mode::Train { 3.0 } else { 1.0 };
    let report = Report {
        tool: "mtsa",
        preset: cfg.preset.clone(),
        mode: a.mode,
        engine: match a.mode {
            Mode::Train => Engine::Plain,
            Mode::Patient => Engine::Predict,
            Mode::Infer => a.engine,
        },
        layout: layout.0,
        layout_source: match &layout.1 {
            LayoutSource::Requested => "requested",
            LayoutSource::Cached(_) => "cached",
            LayoutSource::Measured(_) => "measured",
            LayoutSource::Only => "only",
        },
        layout_nchw_s: layout_timings(&layout.1).map(|t| t.0),
        layout_nhwc_s: layout_timings(&layout.1).map(|t| t.1),
        precision: match (a.mode, a.engine) {
            (Mode::Train, _) | (Mode::Infer, Engine::Plain) => mtsa_model::Precision::F32,
            _ => load.precision,
        },
        keep_memory,
        batch,
        slices_per_iter,
        iters: a.iters,
        warmup: a.warmup,
        threads: tch::get_num_threads(),
        device: format!("{device:?}"),
        params,
        gflop_per_slice_fwd: gflop,
        median_s: median,
        min_s: sorted[0],
        max_s: sorted[sorted.len() - 1],
        times_s: times,
        cpu_median_s: cpu_median,
        slices_per_s: slices_per_iter as f64 / median,
        ms_per_slice: median * 1e3 / slices_per_iter as f64,
        gflops_per_s: gflop * flop_factor * slices_per_iter as f64 / median,
        peak_rss_mib: peak_rss_mib(),
        max_abs_diff_gtv_logits: diff.0,
        max_abs_diff_egfr_logits: diff.1,
    };
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_human(&report);
    }
    Ok(())
}

fn print_human(r: &Report) {
    println!(
        "mtsa bench: preset {} ({} params, {:.2} GFLOP/slice fwd), mode {:?}, engine {:?}, layout {} ({}), {}, batch {}, {} thread(s), {}",
        r.preset,
        r.params,
        r.gflop_per_slice_fwd,
        r.mode,
        r.engine,
        r.layout,
        r.layout_source,
        r.precision,
        r.batch,
        r.threads,
        r.device
    );
    println!(
        "  {} iters after {} warm-up: wall median {:.4} s, min {:.4} s, max {:.4} s",
        r.iters, r.warmup, r.median_s, r.min_s, r.max_s
    );
    println!(
        "  process CPU time per iteration (median): {:.4} s",
        r.cpu_median_s
    );
    println!(
        "  {:.2} slices/s, {:.1} ms/slice, {:.1} GFLOP/s, peak RSS {}",
        r.slices_per_s,
        r.ms_per_slice,
        r.gflops_per_s,
        r.peak_rss_mib
            .map(|m| format!("{m:.0} MiB"))
            .unwrap_or_else(|| "n/a".into())
    );
    if let (Some(c), Some(h)) = (r.layout_nchw_s, r.layout_nhwc_s) {
        let unit = if r.mode == Mode::Train {
            "step"
        } else {
            "forward"
        };
        println!("  layout choice: NCHW {c:.4} s, NHWC {h:.4} s per {unit} (median)");
    }
    if let (Some(g), Some(e)) = (r.max_abs_diff_gtv_logits, r.max_abs_diff_egfr_logits) {
        println!("  vs plain eval forward: max |diff| GTV logits {g:.2e}, EGFR logits {e:.2e}");
    }
}

/// (NCHW, NHWC) seconds per forward behind an auto choice.
fn layout_timings(source: &LayoutSource) -> Option<(f64, f64)> {
    match source {
        LayoutSource::Cached(t) | LayoutSource::Measured(t) => Some((t.nchw_s, t.nhwc_s)),
        LayoutSource::Requested | LayoutSource::Only => None,
    }
}

/// CPU seconds used by this process so far (all threads); NaN where the clock is unavailable.
fn process_cpu_s() -> f64 {
    cpu_time::ProcessTime::try_now().map_or(f64::NAN, |t| t.as_duration().as_secs_f64())
}

/// Wall and process-CPU seconds of each timed iteration.
fn time_it(
    warmup: usize,
    iters: usize,
    device: Device,
    mut f: impl FnMut(),
) -> (Vec<f64>, Vec<f64>) {
    let sync = || mtsa_model::synchronize(device);
    for _ in 0..warmup {
        f();
    }
    sync();
    (0..iters)
        .map(|_| {
            let (t, c) = (Instant::now(), process_cpu_s());
            f();
            sync();
            (t.elapsed().as_secs_f64(), process_cpu_s() - c)
        })
        .unzip()
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
    }
}

fn max_abs(a: &Tensor, b: &Tensor) -> f64 {
    (a.to_kind(Kind::Float) - b.to_kind(Kind::Float))
        .abs()
        .max()
        .double_value(&[])
}

/// Peak resident set size of this process (VmHWM), MiB; `None` off Linux.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// A 256 x 256 x `slices` T1-like volume (0.9375 mm in plane, 5 mm slices): an ellipsoidal
/// "brain" of textured intensity, zero outside, reaching every slice so all are brain slices.
fn synthetic_volume(slices: usize) -> Volume<f32> {
    let (n, dz) = (256usize, 5.0f64);
    let dxy = 240.0 / n as f64;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32
    };
    let half_z = slices as f64 * dz / 2.0;
    let data = Array3::from_shape_fn((n, n, slices), |_| 0.0f32);
    let mut data = data;
    for ((i, j, k), v) in data.indexed_iter_mut() {
        let x = (i as f64 + 0.5) * dxy - 120.0;
        let y = (j as f64 + 0.5) * dxy - 120.0;
        let z = (k as f64 + 0.5) * dz - half_z;
        let r2 = (x / 70.0).powi(2) + (y / 90.0).powi(2) + (z / (half_z + 20.0)).powi(2);
        if r2 < 1.0 {
            let texture = (x * 0.15).sin() * (y * 0.11).cos() * 0.2;
            *v = (300.0 * (1.0 + texture) + 40.0 * noise() as f64) as f32;
        }
    }
    Volume::new(
        data,
        diagonal_affine([dxy, dxy, dz], [-120.0, -120.0, -half_z]),
    )
}
