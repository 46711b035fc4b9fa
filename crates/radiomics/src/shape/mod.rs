//! 3-D shape features (IBSI chapter 3.1 "Morphological features"; PyRadiomics `shape.py`):
//! mesh volume and surface from marching cubes on the mask (padded by one voxel), voxel volume,
//! diameters between mesh vertices, and axis lengths from the eigenvalues of the covariance of
//! the voxel-centre coordinates in mm.

mod mesh;
mod tables;

use nalgebra::{Matrix3, SymmetricEigen};

use crate::grid::Grid;

pub(crate) fn features(grid: &Grid) -> Vec<(&'static str, f64)> {
    let [dz, dy, dx] = grid.dims;
    let padded_dims = [dz + 2, dy + 2, dx + 2];
    let mut padded = vec![false; padded_dims.iter().product()];
    let mut coords = Vec::new();
    for z in 0..dz {
        for y in 0..dy {
            for x in 0..dx {
                if grid.mask[(z * dy + y) * dx + x] {
                    padded[((z + 1) * padded_dims[1] + y + 1) * padded_dims[2] + x + 1] = true;
                    coords.push([z as f64, y as f64, x as f64]);
                }
            }
        }
    }
    let s = grid.spacing;
    let m = mesh::mesh(&padded, padded_dims, s);
    let n = coords.len() as f64;
    let ev = eigenvalues(&coords, s);
    let axis = |e: f64| if e < 0.0 { f64::NAN } else { 4.0 * e.sqrt() };
    let ratio = |a: f64, b: f64| {
        if a < 0.0 || b < 0.0 {
            f64::NAN
        } else {
            (a / b).sqrt()
        }
    };
    vec![
        ("Elongation", ratio(ev[1], ev[2])),
        ("Flatness", ratio(ev[0], ev[2])),
        ("LeastAxisLength", axis(ev[0])),
        ("MajorAxisLength", axis(ev[2])),
        ("Maximum2DDiameterColumn", m.diameters[1]),
        ("Maximum2DDiameterRow", m.diameters[2]),
        ("Maximum2DDiameterSlice", m.diameters[0]),
        ("Maximum3DDiameter", m.diameters[3]),
        ("MeshVolume", m.volume),
        ("MinorAxisLength", axis(ev[1])),
        (
            "Sphericity",
            (36.0 * std::f64::consts::PI * m.volume.powi(2)).cbrt() / m.surface_area,
        ),
        ("SurfaceArea", m.surface_area),
        ("SurfaceVolumeRatio", m.surface_area / m.volume),
        ("VoxelVolume", n * s[0] * s[1] * s[2]),
    ]
}

/// Ascending eigenvalues of the covariance (divided by N) of the voxel coordinates in mm;
/// round-off negatives above -1e-10 become 0, as in PyRadiomics.
fn eigenvalues(coords: &[[f64; 3]], spacing: [f64; 3]) -> [f64; 3] {
    let n = coords.len() as f64;
    let mean: [f64; 3] =
        std::array::from_fn(|a| coords.iter().map(|c| c[a] * spacing[a]).sum::<f64>() / n);
    let cov = Matrix3::from_fn(|r, c| {
        coords
            .iter()
            .map(|p| {
                (p[r] * spacing[r] - mean[r]) / n.sqrt()
                    * ((p[c] * spacing[c] - mean[c]) / n.sqrt())
            })
            .sum::<f64>()
    });
    let Some(eigen) = SymmetricEigen::try_new(cov, f64::EPSILON, 0) else {
        return [f64::NAN; 3];
    };
    let mut ev: Vec<f64> = eigen.eigenvalues.iter().copied().collect();
    ev.sort_by(f64::total_cmp);
    ev.iter_mut()
        .filter(|e| **e < 0.0 && **e > -1e-10)
        .for_each(|e| *e = 0.0);
    [ev[0], ev[1], ev[2]]
}
