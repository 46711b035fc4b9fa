//! STUB: replaced by the system's implementation.
use tch::{nn, Tensor};

use super::SystemSpec;
use crate::error::ModelError;

#[derive(Debug)]
pub struct SwinUNet;

impl SwinUNet {
    pub fn new(_p: &nn::Path, _spec: &SystemSpec) -> Result<Self, ModelError> {
        Err(ModelError::InvalidConfig("SwinUNet is not built yet".into()))
    }
}

impl nn::ModuleT for SwinUNet {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Tensor {
        x.shallow_clone()
    }
}
