//! The options every command that loads a trained run for inference shares (`predict`,
//! `evaluate`), defined once so their flags and help read alike.
use anyhow::Result;
use mtsa_model::{parse_device, LayoutChoice, Precision};
use mtsa_train::LoadOptions;

#[derive(clap::Args, Debug)]
pub struct InferenceArgs {
    /// Where to run the network: `cpu`, `cuda`, `cuda:N` or `auto` (a binary built with
    /// `--features cuda`).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Memory layout of the network: auto (time NCHW and NHWC once per machine and model,
    /// cached in $XDG_CACHE_HOME/mtsa or ~/.cache/mtsa, and keep the faster), nchw or nhwc.
    #[arg(long, default_value = "auto")]
    layout: LayoutChoice,
    /// Number format of MTSA-Net: f32, or bf16 (1.5-1.7x faster on
    /// CPUs with native bf16 instructions, measured on an EPYC with AVX512_BF16, and some 20x
    /// slower without them: with --layout auto the log warns when it measures no faster than
    /// f32; probabilities differ from f32 in the second or third decimal: see the README before
    /// using it for planning).
    #[arg(long, default_value = "f32")]
    precision: Precision,
}

impl InferenceArgs {
    /// How to load the run for forwards of `batch` slices.
    pub fn load(&self, batch: usize) -> Result<LoadOptions> {
        Ok(LoadOptions {
            device: parse_device(&self.device)?,
            layout: self.layout,
            batch,
            precision: self.precision,
        })
    }
}
