//! `mtsa export`: the trained network as TorchScript, so PyTorch, Triton or MONAI users can run
//! it without mtsa. The module is traced from the very forward pass `predict` runs
//! ([`TrainedModel::forward`]) and returns probabilities in one tensor (a traced TorchScript
//! method has a single output): `forward(x: N x C x S x S float) -> N x 2 x S x S`, channel 0
//! the GTV probability, channel 1 the slice's P(EGFR mutant), constant over the plane.
//! Beside it: the preprocessing and post-processing records, a description of the input and
//! outputs, and (with an example scan) example inputs with mtsa's own outputs for checking.

use crate::files::{write_file, write_json};
use crate::postprocess::Postprocess;
use crate::predict::{read_input, read_preprocess, SeriesPick};
use crate::EvalError;
use mtsa_data::{network_input, preprocess_image};
use mtsa_infer::{load_trained, LoadOptions, RunPaths, TrainedModel};
use mtsa_model::{Layout, LayoutChoice};
use serde::Serialize;
use std::path::{Path, PathBuf};
use tch::{CModule, Device, Kind, Tensor};

pub struct ExportOptions {
    pub run: PathBuf,
    pub out: PathBuf,
    /// A scan whose middle brain slices become `example_input.f32` with mtsa's outputs.
    pub example: Option<PathBuf>,
}

/// `export.json`: how to feed the module and read its outputs.
#[derive(Debug, Clone, Serialize)]
pub struct ExportInfo {
    pub mtsa_version: String,
    pub model_preset: String,
    pub run: String,
    /// `[C, S, S]`: C = 2r + 1 slices (the r neighbours below, the slice, the r above).
    pub input_shape: [i64; 3],
    pub input: String,
    pub outputs: [String; 2],
    /// Example slices with mtsa's probabilities (raw little-endian f32 files), if written.
    pub example_slices: usize,
}

/// The traced forward: probabilities, as `predict` uses them.
fn probabilities(model: &TrainedModel, x: &Tensor) -> (Tensor, Tensor) {
    let (gtv, egfr) = model.forward(x);
    (gtv.sigmoid(), egfr.softmax(-1, Kind::Float).select(1, 1))
}

pub fn export(opts: &ExportOptions) -> Result<ExportInfo, EvalError> {
    // NCHW: the layout every runtime that loads the module handles alike.
    let model = load_trained(
        &opts.run,
        LoadOptions {
            device: Device::Cpu,
            layout: LayoutChoice::Fixed(Layout::Nchw),
            batch: 2,
            precision: mtsa_model::Precision::F32,
        },
    )?;
    let paths = RunPaths::new(&opts.run);
    let preprocess = read_preprocess(&paths.preprocess())?;
    let postprocess = Postprocess::of_run(&opts.run)?;
    let cfg = model.net.config().clone();
    let (c, s) = (cfg.in_channels, cfg.size);
    let example = match &opts.example {
        Some(path) => Some(example_slices(path, &preprocess, cfg.context_slices())?),
        None => None,
    };
    let _guard = tch::no_grad_guard();
    // Traced on two slices; no operation of the network depends on the batch size.
    let probe = Tensor::rand([2, c, s, s], (Kind::Float, Device::Cpu));
    let module = CModule::create_by_tracing("MtsaNet", "forward", &[probe], &mut |xs| {
        let (gtv, p) = probabilities(&model, &xs[0]);
        // N -> N x 1 x S x S, beside the GTV map: N x 2 x S x S.
        vec![Tensor::cat(
            &[&gtv, &p.view([-1, 1, 1, 1]).expand_as(&gtv)],
            1,
        )]
    })?;

    let dir = mtsa_io::AtomicDir::output(&opts.out, "export", true)?;
    let out = dir.path();
    module.save(out.join("model.pt"))?;
    for (name, from) in [
        ("preprocess.json", paths.preprocess()),
        ("postprocess.json", paths.postprocess()),
    ] {
        if from.is_file() {
            std::fs::copy(&from, out.join(name)).map_err(|e| EvalError::file(&from, e))?;
        } else if name == "postprocess.json" {
            write_json(&out.join(name), &postprocess)?;
        }
    }
    let mut n_example = 0;
    if let Some(x) = example {
        n_example = x.size()[0] as usize;
        let (gtv, p) = probabilities(&model, &x);
        for (name, t) in [
            ("example_input.f32", x),
            ("example_gtv.f32", gtv),
            ("example_p_mutant.f32", p),
        ] {
            let v: Vec<f32> = Vec::try_from(&t.contiguous().view([-1]))?;
            let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
            write_file(&out.join(name), &bytes)?;
        }
    }
    let info = ExportInfo {
        mtsa_version: env!("CARGO_PKG_VERSION").into(),
        model_preset: cfg.preset.clone(),
        run: opts.run.display().to_string(),
        input_shape: [c, s, s],
        input: "N x C x S x S float32: axial slices preprocessed as preprocess.json says \
                (RAS, brain-percentile scaling to [0, 1], square field of view), C = 2r + 1 \
                neighbouring slices bottom to top"
            .into(),
        outputs: [
            "channel 0 of the N x 2 x S x S output: GTV probability (threshold and minimum \
             lesion volume: postprocess.json)"
                .into(),
            "channel 1 (any pixel): the slice's probability that the patient's EGFR is mutant \
             (patient call: mean over the top half of the slices by GTV area)"
                .into(),
        ],
        example_slices: n_example,
    };
    write_json(&out.join("export.json"), &info)?;
    dir.commit()?;
    Ok(info)
}

/// Up to 4 brain slices from the middle of `scan`, as network input (N x C x S x S).
fn example_slices(
    scan: &Path,
    preprocess: &mtsa_data::PreprocessConfig,
    r: usize,
) -> Result<Tensor, EvalError> {
    let (image, _) = read_input(scan, &SeriesPick::Only, None)?;
    let (slices, geom) =
        preprocess_image(&image, None, preprocess).map_err(|e| EvalError::Data(e.in_file(scan)))?;
    let brain = &geom.brain_slices;
    if brain.is_empty() {
        return Err(EvalError::file(
            scan,
            "no brain slice to take examples from",
        ));
    }
    let mid = brain.len() / 2;
    let picked = &brain[mid.saturating_sub(2)..(mid + 2).min(brain.len())];
    let size = preprocess.size as i64;
    let values: Vec<f32> = picked
        .iter()
        .flat_map(|&k| network_input(slices.view(), k, r))
        .collect();
    Ok(Tensor::from_slice(&values).view([picked.len() as i64, (2 * r + 1) as i64, size, size]))
}
