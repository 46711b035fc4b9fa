use anyhow::Result;
use mtsa_model::{count_net_params, Architecture, MtsaConfig, Network, NET_PREFIX};
use serde::Serialize;

#[derive(clap::Args)]
pub struct Args {
    /// A trained run instead of a preset: its network and input, how and on which prepared data
    /// it was trained, the epoch it keeps with its validation scores, its post-processing and
    /// its weights' checksum.
    #[arg(long, conflicts_with_all = ["preset", "model", "width"])]
    run: Option<std::path::PathBuf>,
    /// tiny (128 px, c = 8), small (256 px, c = 16) or paper (384 px, c = 32).
    #[arg(long, default_value = "paper")]
    preset: String,
    /// The network (see `mtsa train --help`).
    #[arg(long, default_value = "mtsa-net")]
    model: Architecture,
    /// First-stage channels (default: the preset's width for the model).
    #[arg(long)]
    width: Option<i64>,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Info {
    model: String,
    preset: String,
    tasks: mtsa_model::Tasks,
    params: usize,
    /// Worked out for MTSA-Net only.
    gflops_per_slice_fwd: Option<f64>,
    size: i64,
    width: i64,
}

/// Parameters of the network `cfg` describes and, for MTSA-Net, its forward GFLOP per slice.
pub(crate) fn params(cfg: &MtsaConfig) -> Result<(usize, Option<f64>)> {
    Ok(if cfg.architecture == Architecture::MtsaNet {
        cfg.validate()?;
        (cfg.param_count(), Some(mtsa_model::gflops_per_slice(cfg)))
    } else {
        let vs = tch::nn::VarStore::new(tch::Device::Cpu);
        Network::new(&(vs.root() / NET_PREFIX), cfg)?;
        (count_net_params(&vs), None)
    })
}

pub fn run(a: Args) -> Result<()> {
    if let Some(run) = &a.run {
        let card = crate::run_card::describe(run)?;
        match a.json {
            true => println!("{}", serde_json::to_string_pretty(&card)?),
            false => print!("{}", card.text()),
        }
        return Ok(());
    }
    let mut cfg = MtsaConfig::for_architecture(&a.preset, a.model)?;
    if let Some(w) = a.width {
        cfg.base_channels = w;
    }
    let (params, gflops) = params(&cfg)?;
    let info = Info {
        model: a.model.to_string(),
        preset: cfg.preset.clone(),
        tasks: a.model.tasks(),
        params,
        gflops_per_slice_fwd: gflops,
        size: cfg.size,
        width: cfg.base_channels,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        println!(
            "{} ({}) at preset {}: {} parameters, width {}, {}x{} slices{}",
            a.model.paper_name(),
            info.model,
            info.preset,
            info.params,
            info.width,
            info.size,
            info.size,
            gflops.map_or(String::new(), |g| format!(
                ", {g:.2} GFLOP per slice (forward)"
            ))
        );
    }
    Ok(())
}
