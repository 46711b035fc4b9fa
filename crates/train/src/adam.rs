//! Adam written out (PyTorch's update, no weight decay) because tch's optimiser cannot save or
//! restore its moment estimates, and an exact resume needs them.

use tch::{nn::VarStore, Kind, Tensor};

pub struct Adam {
    lr: f64,
    eps: f64,
    betas: (f64, f64),
    /// Trainable variables sorted by name: a fixed order so saved state maps back one to one.
    params: Vec<(String, Tensor)>,
    /// Each parameter's (offset, length) in the flat moment buffers.
    spans: Vec<(i64, i64)>,
    /// First and second moments of every parameter end to end, in parameter order, each
    /// parameter's elements in its logical (NCHW) order. Why flat: a step is then a few
    /// whole-buffer operations instead of a dozen small ones per parameter, and on a GPU every
    /// operation is a kernel launch (PyTorch's default foreach Adam batches them likewise):
    /// per parameter, the update is one subtraction.
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
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
        let mut spans = Vec::with_capacity(params.len());
        let mut total = 0;
        for (_, p) in &params {
            let n = p.numel() as i64;
            spans.push((total, n));
            total += n;
        }
        let options = params
            .first()
            .map_or((Kind::Float, vs.device()), |(_, p)| (p.kind(), p.device()));
        Self {
            lr,
            eps,
            betas: (0.9, 0.999),
            exp_avg: Tensor::zeros([total], options),
            exp_avg_sq: Tensor::zeros([total], options),
            params,
            spans,
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

    /// PyTorch's Adam update, element by element the same operations in the same order as
    /// one parameter at a time. A parameter the loss did not reach counts a zero gradient
    /// (PyTorch skips it): the same for one never reached, whose moments and step stay 0.
    pub fn step(&mut self) {
        self.step += 1;
        let (b1, b2) = self.betas;
        let bias1 = 1.0 - b1.powi(self.step as i32);
        let bias2_sqrt = (1.0 - b2.powi(self.step as i32)).sqrt();
        if self.params.is_empty() {
            return;
        }
        tch::no_grad(|| {
            let grads: Vec<Tensor> = self
                .params
                .iter()
                .map(|(_, p)| {
                    let g = p.grad();
                    match g.defined() {
                        true => g.reshape([-1]),
                        false => p.zeros_like().reshape([-1]),
                    }
                })
                .collect();
            let g = Tensor::cat(&grads, 0);
            let (m, v) = (&mut self.exp_avg, &mut self.exp_avg_sq);
            let _ = m.g_mul_scalar_(b1).g_add_(&(&g * (1.0 - b1)));
            let _ = v.g_mul_scalar_(b2).g_add_(&(&g * &g * (1.0 - b2)));
            let denom = v.sqrt() / bias2_sqrt + self.eps;
            let update = &*m / denom * (self.lr / bias1);
            for i in 0..self.params.len() {
                let step = self.moment(&update, i);
                let _ = self.params[i].1.g_sub_(&step);
            }
        });
    }

    /// Parameter `i`'s slice of a flat buffer (moments, update), in the parameter's shape (a
    /// view: writing it writes the buffer).
    fn moment(&self, flat: &Tensor, i: usize) -> Tensor {
        let (at, n) = self.spans[i];
        flat.narrow(0, at, n)
            .view(self.params[i].1.size().as_slice())
    }

    /// Moment tensors named `adam.m.<param>` / `adam.v.<param>` for the checkpoint.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(2 * self.params.len());
        for (i, (name, _)) in self.params.iter().enumerate() {
            out.push((format!("adam.m.{name}"), self.moment(&self.exp_avg, i)));
            out.push((format!("adam.v.{name}"), self.moment(&self.exp_avg_sq, i)));
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
                for (prefix, flat) in [("m", &self.exp_avg), ("v", &self.exp_avg_sq)] {
                    let mut dst = self.moment(flat, i);
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

#[cfg(test)]
mod tests {
    use super::Adam;
    use tch::{nn::Init, nn::VarStore, Device, Tensor};

    /// PyTorch's update for one parameter, written as the paper of Kingma and Ba gives it.
    fn reference(p: &Tensor, g: &Tensor, m: &mut Tensor, v: &mut Tensor, lr: f64, step: i32) {
        let (b1, b2) = (0.9, 0.999);
        *m = &*m * b1 + g * (1.0 - b1);
        *v = &*v * b2 + g * g * (1.0 - b2);
        let denom = v.sqrt() / (1.0 - f64::powi(b2, step)).sqrt() + 1e-8;
        let _ = p
            .shallow_clone()
            .g_sub_(&(&*m / denom * (lr / (1.0 - f64::powi(b1, step)))));
    }

    #[test]
    fn the_flat_step_equals_the_update_one_parameter_at_a_time() {
        tch::manual_seed(0);
        let vs = VarStore::new(Device::Cpu);
        let randn = Init::Randn {
            mean: 0.0,
            stdev: 1.0,
        };
        let a = vs.root().var("a", &[3, 4], randn);
        let b = vs.root().var("b", &[5], randn);
        let unused = vs.root().var("c", &[2], randn);
        let c0 = unused.copy();
        let mut adam = Adam::new(&vs, 0.05, 1e-8);
        let (mut ra, mut rb) = (a.copy(), b.copy());
        let (mut ma, mut va) = (a.zeros_like(), a.zeros_like());
        let (mut mb, mut vb) = (b.zeros_like(), b.zeros_like());
        for step in 1..=4 {
            adam.zero_grad();
            ((&a * &a).sum(tch::Kind::Float) + b.sin().sum(tch::Kind::Float)).backward();
            let (ga, gb) = (a.grad().copy(), b.grad().copy());
            adam.step();
            reference(&ra, &ga, &mut ma, &mut va, 0.05, step);
            reference(&rb, &gb, &mut mb, &mut vb, 0.05, step);
            assert!(a.equal(&ra) && b.equal(&rb), "step {step} differs");
            (ra, rb) = (a.copy(), b.copy());
        }
        assert!(
            unused.equal(&c0),
            "a parameter the loss never reached moved"
        );
        let state = adam.state();
        assert_eq!(state.len(), 6);
        assert!(state[0].1.equal(&ma) && state[5].1.equal(&c0.zeros_like()));
    }
}
