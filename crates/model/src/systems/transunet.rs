//! STUB: replaced by the system's implementation.
use tch::{nn, Tensor};

use super::SystemSpec;
use crate::error::ModelError;

#[derive(Debug)]
pub struct TransUNet;

impl TransUNet {
    pub fn new(_p: &nn::Path, _spec: &SystemSpec) -> Result<Self, ModelError> {
        Err(ModelError::InvalidConfig("TransUNet is not built yet".into()))
    }
}

impl nn::ModuleT for TransUNet {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Tensor {
        x.shallow_clone()
    }
}
