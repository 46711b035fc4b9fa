//! Intensity discretisation as PyRadiomics' `imageoperations.binImage` does it (IBSI 2.7):
//! bin edges from `getBinEdges`, then `numpy.digitize`, so grey level `k` (1-based) holds the
//! values with `edge[k-1] <= x < edge[k]`. For a fixed bin width this is
//! `floor(x / w) - floor(min / w) + 1`; the edges are rebuilt with NumPy's own arithmetic
//! (float32 for float32 images, `arange`'s `start + i * delta`) so that values lying on an edge
//! fall in the same bin as in PyRadiomics.

use crate::grid::{Grid, PixelType};
use crate::Binning;

/// Grey levels of the cropped ROI: `levels[idx]` is 0 outside the mask, else 1..=`ng`.
#[derive(Debug, Clone)]
pub(crate) struct Levels {
    pub dims: [usize; 3],
    pub levels: Vec<u32>,
    /// Highest grey level (PyRadiomics `Ng`).
    pub ng: u32,
    /// Grey levels that occur in the ROI, ascending (PyRadiomics `grayLevels`).
    pub present: Vec<u32>,
}

impl Levels {
    /// Position of each grey level 1..=ng in `present` (`usize::MAX` for empty levels).
    pub fn rank(&self) -> Vec<usize> {
        let mut rank = vec![usize::MAX; self.ng as usize + 1];
        for (r, g) in self.present.iter().enumerate() {
            rank[*g as usize] = r;
        }
        rank
    }
}

pub(crate) fn discretise(grid: &Grid, binning: Binning) -> Levels {
    let roi = grid.roi_values();
    let edges = Edges::new(&roi, binning, grid.pixel == PixelType::Float32);
    let levels: Vec<u32> = grid
        .values
        .iter()
        .zip(&grid.mask)
        .map(|(v, m)| if *m { edges.bin(*v) } else { 0 })
        .collect();
    let mut seen = vec![false; edges.count() + 2];
    for l in levels.iter().filter(|l| **l > 0) {
        seen[*l as usize] = true;
    }
    let present: Vec<u32> = (1..seen.len() as u32)
        .filter(|l| seen[*l as usize])
        .collect();
    Levels {
        dims: grid.dims,
        ng: present.last().copied().unwrap_or(0),
        levels,
        present,
    }
}

/// Bin edges: `first`, `second`, then `first + i * delta` (NumPy `arange`'s fill), or an
/// explicit list for fixed bin counts.
enum Edges {
    Arange { first: f64, delta: f64, len: usize },
    List(Vec<f64>),
}

impl Edges {
    fn new(roi: &[f64], binning: Binning, float32: bool) -> Self {
        let min = roi.iter().copied().fold(f64::INFINITY, f64::min);
        let max = roi.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        match binning {
            Binning::Width(w) => {
                let (low, second, high) = if float32 {
                    {
                        let (mn, w32) = (min as f32, w as f32);
                        let low = mn - py_mod_f32(mn, w32);
                        (
                            f64::from(low),
                            f64::from(low + w32),
                            f64::from(max as f32 + 2.0 * w32),
                        )
                    }
                } else {
                    let low = min - py_mod_f64(min, w);
                    (low, low + w, max + 2.0 * w)
                };
                let len = ((high - low) / w).ceil().max(2.0) as usize;
                Edges::Arange {
                    first: low,
                    delta: second - low,
                    len,
                }
            }
            Binning::Count(n) => {
                // numpy.histogram's edges: linspace(min, max, n + 1) in the image's float type
                // (float32 arithmetic for float32 images), then the last edge raised by 1.
                let (mut first, mut last) = (min, max);
                if first == last {
                    first -= 0.5;
                    last += 0.5;
                }
                let list: Vec<f64> = if float32 {
                    let (first, last) = (first as f32, last as f32);
                    let step = (last - first) / n as f32;
                    (0..n)
                        .map(|k| f64::from(k as f32 * step + first))
                        .chain([f64::from(last + 1.0)])
                        .collect()
                } else {
                    let step = (last - first) / n as f64;
                    (0..n)
                        .map(|k| k as f64 * step + first)
                        .chain([last + 1.0])
                        .collect()
                };
                Edges::List(list)
            }
        }
    }

    fn count(&self) -> usize {
        match self {
            Edges::Arange { len, .. } => *len,
            Edges::List(l) => l.len(),
        }
    }

    fn edge(&self, i: usize) -> f64 {
        match self {
            Edges::Arange { first, delta, .. } => match i {
                0 => *first,
                _ => first + i as f64 * delta,
            },
            Edges::List(l) => l[i],
        }
    }

    /// `numpy.digitize(x, edges)`: the number of edges `<= x`.
    fn bin(&self, x: f64) -> u32 {
        let n = self.count();
        let mut k = match self {
            Edges::Arange { first, delta, .. } => {
                (((x - first) / delta).floor() + 1.0).clamp(0.0, n as f64) as usize
            }
            Edges::List(l) => l.partition_point(|e| *e <= x),
        };
        while k < n && self.edge(k) <= x {
            k += 1;
        }
        while k > 0 && self.edge(k - 1) > x {
            k -= 1;
        }
        k as u32
    }
}

/// Python's `%` (NumPy `remainder`): the result takes the divisor's sign.
fn py_mod_f64(a: f64, b: f64) -> f64 {
    let m = a % b;
    if m != 0.0 && (m < 0.0) != (b < 0.0) {
        m + b
    } else {
        m
    }
}

fn py_mod_f32(a: f32, b: f32) -> f32 {
    let m = a % b;
    if m != 0.0 && (m < 0.0) != (b < 0.0) {
        m + b
    } else {
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(values: Vec<f64>) -> Grid {
        Grid {
            dims: [1, 1, values.len()],
            spacing: [1.0; 3],
            mask: vec![true; values.len()],
            values,
            pixel: PixelType::Float64,
        }
    }

    #[test]
    fn fixed_width_is_floor_formula() {
        let g = grid(vec![-30.0, -25.0, 0.0, 24.9, 25.0, 99.0]);
        let l = discretise(&g, Binning::Width(25.0));
        // floor(x/25) - floor(-30/25) + 1
        assert_eq!(l.levels, vec![1, 2, 3, 3, 4, 6]);
        assert_eq!(l.present, vec![1, 2, 3, 4, 6]);
        assert_eq!(l.ng, 6);
    }

    #[test]
    fn fixed_count_puts_maximum_in_last_bin() {
        let g = grid(vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        let l = discretise(&g, Binning::Count(2));
        assert_eq!(l.levels, vec![1, 1, 2, 2, 2]);
    }

    #[test]
    fn python_modulo_follows_divisor_sign() {
        assert_eq!(py_mod_f64(-30.0, 25.0), 20.0);
        assert_eq!(py_mod_f32(30.0, 25.0), 5.0);
    }
}
