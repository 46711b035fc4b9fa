//! Weights as one `.safetensors` file with the model config in its metadata (key
//! [`CONFIG_KEY`], JSON), so a checkpoint is self-describing and PyTorch's
//! `safetensors.torch.load_file` reads it directly. Tensor names are the VarStore names
//! (`net.encoder.level0.stem.conv.weight`, ..., `loss.log_sigma_gtv`); BatchNorm running
//! statistics are included. Values are stored as F32.
use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use sha2::{Digest, Sha256};
use tch::{nn, Device, Kind, Tensor};

use crate::config::MtsaConfig;
use crate::error::ModelError;

pub const CONFIG_KEY: &str = "mtsa_config";
/// Metadata key of the sha256 over every tensor's name and bytes, checked on every load: a
/// flipped byte in the weights would otherwise still give a (wrong) EGFR call.
pub const CHECKSUM_KEY: &str = "mtsa_sha256";

/// Tensors by name, as stored.
pub type NamedTensors = HashMap<String, Tensor>;
/// The string metadata of a safetensors file.
pub type Metadata = HashMap<String, String>;
/// Refuse headers larger than this rather than allocate whatever a corrupt file claims.
const MAX_HEADER: u64 = 100 << 20;

fn ck_err(path: &Path, msg: impl Into<String>) -> ModelError {
    ModelError::Checkpoint {
        path: path.display().to_string(),
        msg: msg.into(),
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
    move |source| ModelError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn to_f32_bytes(t: &Tensor) -> Result<Vec<u8>, ModelError> {
    let flat = t
        .f_to_device(Device::Cpu)?
        .f_to_kind(Kind::Float)?
        .f_contiguous()?
        .f_view([-1])?;
    let values = Vec::<f32>::try_from(&flat)?;
    Ok(values.iter().flat_map(|v| v.to_le_bytes()).collect())
}

/// Writes named tensors (stored as F32) and string metadata as one safetensors file. Writes to
/// a temporary file in the target directory and renames it, so a crash mid-save never leaves a
/// truncated file under the final name. Also used by the trainer for full training checkpoints.
pub fn write_tensors(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: HashMap<String, String>,
) -> Result<(), ModelError> {
    let mut named: Vec<(&str, Vec<usize>, Vec<u8>)> = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let shape = t.size().iter().map(|&d| d as usize).collect();
        named.push((name, shape, to_f32_bytes(t)?));
    }
    let mut metadata = metadata;
    metadata.insert(
        CHECKSUM_KEY.to_string(),
        checksum(named.iter().map(|(n, _, d)| (*n, d.as_slice()))),
    );
    let views = named
        .iter()
        .map(|(n, s, d)| {
            TensorView::new(Dtype::F32, s.clone(), d)
                .map(|v| (n.to_string(), v))
                .map_err(|e| ck_err(path, e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bytes =
        safetensors::serialize(views, Some(metadata)).map_err(|e| ck_err(path, e.to_string()))?;

    mtsa_io::write_atomic(path, |tmp| {
        std::fs::write(tmp, &bytes).map_err(|e| mtsa_io::IoError::io(tmp, e))
    })?;
    Ok(())
}

/// Reads every tensor (on the CPU, in its stored dtype) and the string metadata of a
/// safetensors file.
/// sha256 over the tensors in name order: for each, its name, a zero byte, its length (u64 LE)
/// and its bytes.
fn checksum<'a>(tensors: impl Iterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut sorted: Vec<(&str, &[u8])> = tensors.collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = Sha256::new();
    for (name, data) in sorted {
        h.update(name.as_bytes());
        h.update([0u8]);
        h.update((data.len() as u64).to_le_bytes());
        h.update(data);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub fn read_tensors(path: &Path) -> Result<(NamedTensors, Metadata), ModelError> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let (_, header) =
        SafeTensors::read_metadata(&bytes).map_err(|e| ck_err(path, e.to_string()))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let st = SafeTensors::deserialize(&bytes).map_err(|e| ck_err(path, e.to_string()))?;
    let want = metadata.get(CHECKSUM_KEY).ok_or_else(|| {
        ck_err(
            path,
            "no tensor checksum (written by an older mtsa, or not by mtsa); train again",
        )
    })?;
    let views = st.tensors();
    if &checksum(views.iter().map(|(n, v)| (n.as_str(), v.data()))) != want {
        return Err(ck_err(
            path,
            "tensor checksum does not match: the file is corrupt or was edited",
        ));
    }
    let mut out = HashMap::with_capacity(st.len());
    for (name, view) in views {
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let kind = kind_of(view.dtype()).ok_or_else(|| {
            ck_err(
                path,
                format!("tensor {name:?} has dtype {:?}", view.dtype()),
            )
        })?;
        let t = Tensor::f_from_data_size(view.data(), &shape, kind)?;
        if t.numel() > 0 && !bool::try_from(t.isfinite().all())? {
            return Err(ck_err(
                path,
                format!("tensor {name:?} holds NaN or infinite values"),
            ));
        }
        out.insert(name, t);
    }
    Ok((out, metadata))
}

/// Saves every variable of `vs` (net, BatchNorm statistics, and loss weights if present) with
/// `cfg` in the metadata.
pub fn save_weights(vs: &nn::VarStore, cfg: &MtsaConfig, path: &Path) -> Result<(), ModelError> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let json = serde_json::to_string(cfg).map_err(|e| ck_err(path, e.to_string()))?;
    write_tensors(path, &vars, HashMap::from([(CONFIG_KEY.to_string(), json)]))
}

/// Reads only the header, so inspecting a checkpoint does not load its tensors.
pub fn read_config(path: &Path) -> Result<MtsaConfig, ModelError> {
    let metadata = read_metadata(path)?;
    let json = metadata
        .get(CONFIG_KEY)
        .ok_or_else(|| ck_err(path, format!("no {CONFIG_KEY:?} in the metadata")))?;
    serde_json::from_str(json).map_err(|e| ck_err(path, format!("bad {CONFIG_KEY}: {e}")))
}

/// A checkpoint's metadata (its config, checksum, training record), read from the header alone:
/// nothing is loaded or verified.
pub fn read_metadata(path: &Path) -> Result<Metadata, ModelError> {
    let mut f = File::open(path).map_err(io_err(path))?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .map_err(|_| ck_err(path, "not a safetensors file (shorter than 8 bytes)"))?;
    let n = u64::from_le_bytes(len);
    if n > MAX_HEADER {
        return Err(ck_err(path, format!("implausible header length {n}")));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header)
        .map_err(|_| ck_err(path, "truncated safetensors header"))?;
    let header: serde_json::Value =
        serde_json::from_slice(&header).map_err(|e| ck_err(path, format!("bad header: {e}")))?;
    match header.get("__metadata__") {
        None => Ok(Metadata::new()),
        Some(m) => serde_json::from_value(m.clone())
            .map_err(|e| ck_err(path, format!("bad header metadata: {e}"))),
    }
}

fn kind_of(dtype: Dtype) -> Option<Kind> {
    match dtype {
        Dtype::F32 => Some(Kind::Float),
        Dtype::F64 => Some(Kind::Double),
        Dtype::F16 => Some(Kind::Half),
        Dtype::BF16 => Some(Kind::BFloat16),
        _ => None,
    }
}

/// Loads every variable of `vs` from the file; extra tensors in the file are ignored (an
/// inference VarStore has no loss weights). Fails, naming both presets, when the file was saved
/// for another config (any field but `dropout` differing).
pub fn load_weights(
    vs: &mut nn::VarStore,
    cfg: &MtsaConfig,
    path: &Path,
) -> Result<(), ModelError> {
    let saved = read_config(path)?;
    // Dropout does not shape any weight, so fine-tuning with another rate is allowed.
    let comparable = MtsaConfig {
        dropout: cfg.dropout,
        ..saved.clone()
    };
    if &comparable != cfg {
        let detail = if saved.preset == cfg.preset {
            format!(" (same name, different settings: saved {saved:?}, model {cfg:?})")
        } else {
            String::new()
        };
        return Err(ModelError::PresetMismatch {
            path: path.display().to_string(),
            expected: cfg.preset.clone(),
            found: saved.preset,
            detail,
        });
    }
    let (mut tensors, _) = read_tensors(path)?;
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    // Check everything before touching any variable, so a bad file leaves the model unchanged.
    let mut sources = Vec::with_capacity(vars.len());
    for (name, var) in &vars {
        let src = tensors
            .remove(name)
            .ok_or_else(|| ck_err(path, format!("tensor {name:?} missing")))?;
        if src.size() != var.size() {
            return Err(ck_err(
                path,
                format!(
                    "tensor {name:?} has shape {:?}, model expects {:?}",
                    src.size(),
                    var.size()
                ),
            ));
        }
        sources.push(src);
    }
    tch::no_grad(|| -> Result<(), ModelError> {
        for ((_, var), src) in vars.iter().zip(&sources) {
            let mut var = var.shallow_clone();
            var.f_copy_(&src.f_to_kind(var.kind())?.f_to_device(var.device())?)?;
        }
        Ok(())
    })
}
