//! Marching-cubes surface of the mask as PyRadiomics builds it (`cshape.c:
//! calculate_coefficients`): cubes between voxel centres of the zero-padded mask, vertices at
//! edge midpoints, the volume as the sum of signed tetrahedra spanned with the origin and the
//! area as the sum of triangle areas. Diameters are the largest distances between mesh vertices,
//! overall and within planes of constant z, y or x.

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
    let at = |z: usize, y: usize, x: usize| mask[(z * dims[1] + y) * dims[2] + x];
    let (mut area, mut volume) = (0.0, 0.0);
    let mut vertices: Vec<[f64; 3]> = Vec::new();
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
                        vertices.push(point(edge));
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
        diameters: diameters(&vertices),
    }
}

fn diameters(v: &[[f64; 3]]) -> [f64; 4] {
    let mut d2 = [0.0f64; 4];
    for (i, a) in v.iter().enumerate() {
        for b in &v[..i] {
            let dist = norm2(sub(*a, *b));
            d2[3] = d2[3].max(dist);
            for axis in 0..3 {
                if a[axis] == b[axis] {
                    d2[axis] = d2[axis].max(dist);
                }
            }
        }
    }
    d2.map(f64::sqrt)
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
}
