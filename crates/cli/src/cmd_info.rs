use anyhow::Result;
use mtsa_model::MtsaConfig;
use serde::Serialize;

#[derive(clap::Args)]
pub struct Args {
    /// tiny (128 px, c = 8), small (256 px, c = 16) or paper (384 px, c = 32).
    #[arg(long, default_value = "paper")]
    preset: String,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Info {
    preset: String,
    params: usize,
    gflops_per_slice_fwd: f64,
    size: i64,
    channels: Vec<i64>,
}

pub fn run(a: Args) -> Result<()> {
    let cfg = MtsaConfig::preset(&a.preset)?;
    let info = Info {
        preset: cfg.preset.clone(),
        params: cfg.param_count(),
        gflops_per_slice_fwd: cfg.gflops_per_slice_fwd(),
        size: cfg.size,
        channels: (0..mtsa_model::LEVELS)
            .map(|l| cfg.level_channels(l))
            .collect(),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        println!(
            "preset {}: {} parameters, {:.2} GFLOP per {}x{} slice (forward), channels {:?}",
            info.preset,
            info.params,
            info.gflops_per_slice_fwd,
            info.size,
            info.size,
            info.channels
        );
    }
    Ok(())
}
