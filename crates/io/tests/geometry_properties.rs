//! Property tests of the geometry every stage relies on: an affine written into a NIfTI header
//! (as quaternion and sform) reads back as the same affine, and reorienting to RAS and back keeps
//! every voxel at its world position.

use mtsa_io::{read_nifti, write_nifti, Affine, Reorientation, Volume};
use ndarray::Array3;
use proptest::prelude::*;

/// Rotation matrix of the unit quaternion (a, b, c, d), as the NIfTI standard defines it.
fn rotation(q: [f64; 4]) -> [[f64; 3]; 3] {
    let n = q.iter().map(|x| x * x).sum::<f64>().sqrt();
    let [a, b, c, d] = q.map(|x| x / n);
    [
        [
            a * a + b * b - c * c - d * d,
            2.0 * (b * c - a * d),
            2.0 * (b * d + a * c),
        ],
        [
            2.0 * (b * c + a * d),
            a * a + c * c - b * b - d * d,
            2.0 * (c * d - a * b),
        ],
        [
            2.0 * (b * d - a * c),
            2.0 * (c * d + a * b),
            a * a + d * d - c * c - b * b,
        ],
    ]
}

/// R · diag(spacing) · diag(1, 1, qfac), with the origin in the last column.
fn affine(r: [[f64; 3]; 3], spacing: [f64; 3], qfac: f64, origin: [f64; 3]) -> Affine {
    let mut a = [[0.0; 4]; 4];
    for w in 0..3 {
        for v in 0..3 {
            let flip = if v == 2 { qfac } else { 1.0 };
            a[w][v] = r[w][v] * spacing[v] * flip;
        }
        a[w][3] = origin[w];
    }
    a[3][3] = 1.0;
    a
}

fn quaternion() -> impl Strategy<Value = [f64; 4]> {
    [0.05f64..1.0, -1.0f64..1.0, -1.0f64..1.0, -1.0f64..1.0]
}

fn spacing() -> impl Strategy<Value = [f64; 3]> {
    [0.3f64..5.0, 0.3f64..5.0, 0.3f64..5.0]
}

fn origin() -> impl Strategy<Value = [f64; 3]> {
    [-200.0f64..200.0, -200.0f64..200.0, -200.0f64..200.0]
}

fn world(a: &Affine, ijk: [usize; 3]) -> [f64; 3] {
    std::array::from_fn(|w| (0..3).map(|v| a[w][v] * ijk[v] as f64).sum::<f64>() + a[w][3])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn nifti_affine_survives_the_quaternion_round_trip(
        q in quaternion(), s in spacing(), o in origin(), left_handed in any::<bool>()
    ) {
        let qfac = if left_handed { -1.0 } else { 1.0 };
        let a = affine(rotation(q), s, qfac, o);
        let vol = Volume::new(Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (i + 2 * j + 6 * k) as f32), a);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.nii.gz");
        write_nifti(&path, &vol).unwrap();
        let back = read_nifti(&path).unwrap();
        prop_assert_eq!(&back.data, &vol.data);
        for (w, (got, want)) in back.affine.iter().zip(&a).enumerate().take(3) {
            for (v, (g, x)) in got.iter().zip(want).enumerate() {
                prop_assert!((g - x).abs() < 1e-3, "affine[{}][{}]: {} read back, {} written", w, v, g, x);
            }
        }
    }

    #[test]
    fn reorientation_keeps_world_positions_and_inverts(
        q in quaternion(), s in spacing(), o in origin(), left_handed in any::<bool>(),
        shape in [1usize..5, 1usize..5, 1usize..5]
    ) {
        let qfac = if left_handed { -1.0 } else { 1.0 };
        let a = affine(rotation(q), s, qfac, o);
        let data = Array3::from_shape_fn((shape[0], shape[1], shape[2]), |(i, j, k)| (i * 100 + j * 10 + k) as u32);
        let vol = Volume::new(data, a);
        let r = Reorientation::for_volume(&vol);
        let canonical = r.apply(&vol);
        prop_assert_eq!(canonical.shape(), r.canonical_shape());
        // Every canonical voxel holds the source voxel that lies at the same world position.
        for ((i, j, k), value) in canonical.data.indexed_iter() {
            let src = [value / 100, value / 10 % 10, value % 10].map(|x| x as usize);
            let (p, q) = (world(&canonical.affine, [i, j, k]), world(&vol.affine, src));
            for w in 0..3 {
                prop_assert!((p[w] - q[w]).abs() < 1e-6, "{:?} vs {:?}", p, q);
            }
        }
        // The canonical axes point (mostly) right, anterior and superior.
        for w in 0..3 {
            prop_assert!(canonical.affine[w][w] > 0.0);
        }
        let back = r.invert(&canonical.data);
        prop_assert_eq!(back.data, vol.data);
        prop_assert_eq!(back.affine, vol.affine);
    }
}
