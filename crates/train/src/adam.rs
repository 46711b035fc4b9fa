//! Adam written out (PyTorch's update, no weight decay) because tch's optimiser cannot save or
//! restore its moment estimates, and an exact resume needs them.

use tch::{nn::VarStore, Tensor};

pub struct Adam {
    lr: f64,
    eps: f64,
    betas: (f64, f64),
    /// Trainable variables sorted by name: a fixed order so saved state maps back one to one.
    params: Vec<(String, Tensor)>,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
    pub step: i64,
}

impl Adam {
    pub fn new(vs: &VarStore, lr: f64, eps: f64) -> Self {
        let mut params: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let zeros = |p: &[(String, Tensor)]| p.iter().map(|(_, t)| t.zeros_like()).collect();
        Self {
            lr,
            eps,
            betas: (0.9, 0.999),
            exp_avg: zeros(&params),
            exp_avg_sq: zeros(&params),
            params,
            step: 0,
        }
    }

    /// Sets the rate of the following steps (a schedule changes it per epoch).
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    pub fn zero_grad(&mut self) {
        for (_, p) in &mut self.params {
            p.zero_grad();
        }
    }

    pub fn step(&mut self) {
        self.step += 1;
        let (b1, b2) = self.betas;
        let bias1 = 1.0 - b1.powi(self.step as i32);
        let bias2_sqrt = (1.0 - b2.powi(self.step as i32)).sqrt();
        tch::no_grad(|| {
            for (i, (_, p)) in self.params.iter_mut().enumerate() {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let m = &mut self.exp_avg[i];
                let v = &mut self.exp_avg_sq[i];
                let _ = m.g_mul_scalar_(b1).g_add_(&(&g * (1.0 - b1)));
                let _ = v.g_mul_scalar_(b2).g_add_(&(&g * &g * (1.0 - b2)));
                let denom = v.sqrt() / bias2_sqrt + self.eps;
                let _ = p.g_sub_(&(&*m / denom * (self.lr / bias1)));
            }
        });
    }

    /// Moment tensors named `adam.m.<param>` / `adam.v.<param>` for the checkpoint.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(2 * self.params.len());
        for (i, (name, _)) in self.params.iter().enumerate() {
            out.push((format!("adam.m.{name}"), self.exp_avg[i].shallow_clone()));
            out.push((format!("adam.v.{name}"), self.exp_avg_sq[i].shallow_clone()));
        }
        out
    }

    /// Restores moments from `lookup(name)`; a missing tensor means the checkpoint does not
    /// belong to this model, reported by the caller.
    pub fn load_state(
        &mut self,
        step: i64,
        mut lookup: impl FnMut(&str) -> Option<Tensor>,
    ) -> Result<(), String> {
        tch::no_grad(|| {
            for (i, (name, _)) in self.params.iter().enumerate() {
                for (prefix, dst) in [("m", &mut self.exp_avg[i]), ("v", &mut self.exp_avg_sq[i])] {
                    let key = format!("adam.{prefix}.{name}");
                    let src =
                        lookup(&key).ok_or_else(|| format!("optimiser tensor {key} missing"))?;
                    if src.size() != dst.size() {
                        return Err(format!("optimiser tensor {key} has the wrong shape"));
                    }
                    dst.copy_(&src);
                }
            }
            Ok(())
        })?;
        self.step = step;
        Ok(())
    }
}
