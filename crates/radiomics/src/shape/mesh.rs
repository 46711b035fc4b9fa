//! Marching-cubes surface of the mask as PyRadiomics builds it (`cshape.c:
//! calculate_coefficients`): cubes between voxel centres of the zero-padded mask, vertices at
//! edge midpoints, the volume as the sum of signed tetrahedra spanned with the origin and the
//! area as the sum of triangle areas. Diameters are the largest distances between mesh vertices,
//! overall and within planes of constant z, y or x.

use std::collections::BTreeMap;

use super::tables::TRIANGLES;

/// Corner offsets (z, y, x) of the 8 cube corners.
const CORNERS: [[usize; 3]; 8] = [
    [0, 0, 0],
    [0, 0, 1],
    [0, 1, 1],
    [0, 1, 0],
    [1, 0, 0],
    [1, 0, 1],
    [1, 1, 1],
    [1, 1, 0],
];

/// Edge midpoints (z, y, x) of the 12 cube edges.
const EDGES: [[f64; 3]; 12] = [
    [0.0, 0.0, 0.5],
    [0.0, 0.5, 1.0],
    [0.0, 1.0, 0.5],
    [0.0, 0.5, 0.0],
    [1.0, 0.0, 0.5],
    [1.0, 0.5, 1.0],
    [1.0, 1.0, 0.5],
    [1.0, 0.5, 0.0],
    [0.5, 0.0, 0.0],
    [0.5, 0.0, 1.0],
    [0.5, 1.0, 1.0],
    [0.5, 1.0, 0.0],
];

pub(crate) struct Mesh {
    pub surface_area: f64,
    pub volume: f64,
    /// Maximum distances within constant-z (slice), constant-y (column), constant-x (row)
    /// planes, and in 3-D.
    pub diameters: [f64; 4],
}

/// `mask` in z, y, x order with size `dims`, padded so that no ROI voxel touches the border.
pub(crate) fn mesh(mask: &[bool], dims: [usize; 3], spacing: [f64; 3]) -> Mesh {
    mesh_with_vertices(mask, dims, spacing, &mut Vec::new())
}

/// [`mesh`], leaving the vertices in `vertices` (for the diameter test).
fn mesh_with_vertices(
    mask: &[bool],
    dims: [usize; 3],
    spacing: [f64; 3],
    vertices: &mut Vec<Key>,
) -> Mesh {
    let at = |z: usize, y: usize, x: usize| mask[(z * dims[1] + y) * dims[2] + x];
    let (mut area, mut volume) = (0.0, 0.0);
    for z in 0..dims[0] - 1 {
        for y in 0..dims[1] - 1 {
            for x in 0..dims[2] - 1 {
                let mut cube = 0usize;
                for (bit, c) in CORNERS.iter().enumerate() {
                    if at(z + c[0], y + c[1], x + c[2]) {
                        cube |= 1 << bit;
                    }
                }
                let sign = if cube & 0x80 != 0 {
                    cube ^= 0xff;
                    -1.0
                } else {
                    1.0
                };
                let point = |e: usize| -> [f64; 3] {
                    let o = [z as f64, y as f64, x as f64];
                    std::array::from_fn(|d| (o[d] + EDGES[e][d]) * spacing[d])
                };
                // Each vertex is recorded once: by the cube owning the edges at corner 7.
                for (corner, edge) in [(6, 6), (4, 7), (3, 11)] {
                    if cube & (1 << corner) != 0 {
                        let o = [z, y, x];
                        vertices.push(std::array::from_fn(|d| {
                            2 * o[d] as i64 + (2.0 * EDGES[edge][d]) as i64
                        }));
                    }
                }
                for t in TRIANGLES[cube].chunks(3).take_while(|t| t[0] >= 0) {
                    let [a, b, c] = [0, 1, 2].map(|k| point(t[k] as usize));
                    volume += sign * dot(cross(a, b), c);
                    area += 0.5 * norm(cross(sub(a, c), sub(b, c)));
                }
            }
        }
    }
    Mesh {
        surface_area: area,
        volume: volume / 6.0,
        diameters: diameters(vertices, spacing),
    }
}

/// A mesh vertex in half-voxel units (z, y, x): its position is `k * spacing / 2` mm, and
/// vertices on one grid line or plane share coordinates exactly.
type Key = [i64; 3];

/// The largest vertex distances within constant-z, constant-y and constant-x planes, and in
/// 3-D. PyRadiomics compares every pair (O(n²), seconds for a 100 ml tumour); the same maxima
/// come from far fewer points: for a fixed point the distance along a line is convex, so over
/// the vertices of any grid line it peaks at the line's two extreme vertices. Keeping only
/// those, line direction after line direction, loses no diameter.
fn diameters(vertices: &[Key], spacing: [f64; 3]) -> [f64; 4] {
    let mut d = [0.0; 4];
    d[3] = farthest_pair(&line_extremes(vertices.to_vec(), &[0, 1, 2]), spacing);
    for (axis, diameter) in d.iter_mut().take(3).enumerate() {
        let mut planes: BTreeMap<i64, Vec<Key>> = BTreeMap::new();
        for v in vertices {
            planes.entry(v[axis]).or_default().push(*v);
        }
        let in_plane: Vec<usize> = (0..3).filter(|&a| a != axis).collect();
        *diameter = planes
            .into_values()
            .map(|p| farthest_pair(&line_extremes(p, &in_plane), spacing))
            .fold(0.0, f64::max);
    }
    d
}

/// For each axis in turn, only the first and last point of every line parallel to it.
fn line_extremes(mut points: Vec<Key>, axes: &[usize]) -> Vec<Key> {
    for &axis in axes {
        let mut lines: BTreeMap<[i64; 2], (Key, Key)> = BTreeMap::new();
        for p in points {
            let (u, v) = match axis {
                0 => (p[1], p[2]),
                1 => (p[0], p[2]),
                _ => (p[0], p[1]),
            };
            let e = lines.entry([u, v]).or_insert((p, p));
            if p[axis] < e.0[axis] {
                e.0 = p;
            }
            if p[axis] > e.1[axis] {
                e.1 = p;
            }
        }
        points = lines
            .into_values()
            .flat_map(|(lo, hi)| if lo == hi { vec![lo] } else { vec![lo, hi] })
            .collect();
    }
    points
}

/// The largest distance in mm between two of `points`.
fn farthest_pair(points: &[Key], spacing: [f64; 3]) -> f64 {
    let mm: Vec<[f64; 3]> = points
        .iter()
        .map(|k| std::array::from_fn(|d| k[d] as f64 * 0.5 * spacing[d]))
        .collect();
    let mut best = 0.0f64;
    for (i, a) in mm.iter().enumerate() {
        for b in &mm[..i] {
            best = best.max(norm2(sub(*a, *b)));
        }
    }
    best.sqrt()
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - b[1] * a[2],
        a[2] * b[0] - b[2] * a[0],
        a[0] * b[1] - b[0] * a[1],
    ]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn norm2(a: [f64; 3]) -> f64 {
    dot(a, a)
}

fn norm(a: [f64; 3]) -> f64 {
    norm2(a).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_voxel_is_an_octahedron() {
        // One voxel padded by one: the mesh joins the six face-centre midpoints.
        let mut mask = vec![false; 27];
        mask[13] = true;
        let m = mesh(&mask, [3, 3, 3], [1.0, 1.0, 1.0]);
        assert!((m.volume - 1.0 / 6.0).abs() < 1e-12, "{}", m.volume);
        assert!((m.surface_area - 8.0 * 3f64.sqrt() / 8.0).abs() < 1e-12);
        assert!((m.diameters[3] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn pruned_diameters_equal_every_pair() {
        // Irregular blobs (a hash decides each voxel inside a sphere of noisy radius), checked
        // against the O(n²) comparison of all vertices that PyRadiomics makes.
        for seed in 0..6u64 {
            let dims = [12, 14, 13];
            let mut mask = vec![false; dims.iter().product()];
            for z in 1..dims[0] - 1 {
                for y in 1..dims[1] - 1 {
                    for x in 1..dims[2] - 1 {
                        let h = ((z * 73_856_093) ^ (y * 19_349_663) ^ (x * 83_492_791)) as u64;
                        let noise = (h.wrapping_mul(seed + 11) % 100) as f64 / 100.0;
                        let r2 = [(z, 6.0), (y, 7.0), (x, 6.5)]
                            .iter()
                            .map(|&(c, m)| (c as f64 - m).powi(2))
                            .sum::<f64>();
                        mask[(z * dims[1] + y) * dims[2] + x] = r2 < 12.0 + 20.0 * noise;
                    }
                }
            }
            let spacing = [2.0, 0.9, 1.1];
            let mut vertices = Vec::new();
            let m = mesh_with_vertices(&mask, dims, spacing, &mut vertices);
            let mm: Vec<[f64; 3]> = vertices
                .iter()
                .map(|k| std::array::from_fn(|d| k[d] as f64 * 0.5 * spacing[d]))
                .collect();
            let mut brute = [0.0f64; 4];
            for (i, a) in mm.iter().enumerate() {
                for b in &mm[..i] {
                    let d = norm2(sub(*a, *b));
                    brute[3] = brute[3].max(d);
                    for axis in 0..3 {
                        if a[axis] == b[axis] {
                            brute[axis] = brute[axis].max(d);
                        }
                    }
                }
            }
            assert!(
                vertices.len() > 100,
                "seed {seed}: {} vertices",
                vertices.len()
            );
            assert_eq!(m.diameters, brute.map(f64::sqrt), "seed {seed}");
        }
    }
}
