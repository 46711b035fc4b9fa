//! Device strings from the command line; CUDA requests fail with an explanation instead of a
//! libtorch abort when no GPU (or no CUDA build of libtorch) is present. Waiting for a device,
//! for timings.
use tch::{Cuda, Device};

use crate::error::ModelError;

/// Waits until `device` has finished its queued work (CUDA runs asynchronously; the CPU has
/// none), so that a timing covers the work and not only its launch.
pub fn synchronize(device: Device) {
    if let Device::Cuda(d) = device {
        Cuda::synchronize(d as i64);
    }
}

/// Accepts `cpu`, `cuda`, `cuda:N`, and `auto` (CUDA 0 when available, else CPU).
pub fn parse_device(s: &str) -> Result<Device, ModelError> {
    let err = |m: String| Err(ModelError::Device(s.to_string(), m));
    let t = s.trim().to_ascii_lowercase();
    let index = match t.as_str() {
        "cpu" => return Ok(Device::Cpu),
        "auto" => return Ok(Device::cuda_if_available()),
        "cuda" => 0,
        other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(n)) => n,
            _ => return err("expected cpu, cuda, cuda:N or auto".into()),
        },
    };
    if !Cuda::is_available() {
        return err(
            "CUDA is not available (no GPU found, or libtorch was built without CUDA)".into(),
        );
    }
    let count = Cuda::device_count() as usize;
    if index >= count {
        return err(format!("only {count} CUDA device(s) present"));
    }
    Ok(Device::Cuda(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_and_rejects_junk() {
        assert_eq!(parse_device("cpu").unwrap(), Device::Cpu);
        assert_eq!(parse_device(" CPU ").unwrap(), Device::Cpu);
        assert!(parse_device("tpu").is_err());
        assert!(parse_device("cuda:x").is_err());
        if !Cuda::is_available() {
            let e = parse_device("cuda:0").unwrap_err().to_string();
            assert!(e.contains("not available"), "{e}");
        }
    }
}
