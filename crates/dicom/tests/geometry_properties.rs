//! Property test of DICOM geometry: a volume in any of the 48 orthogonal orientations (and a
//! slightly oblique one), with any spacing and origin, written as a series and read back, is the
//! same image in world space (Image Orientation/Position Patient ↔ affine both ways).

use mtsa_dicom::{read_series, write_series, SeriesMeta, UidSource};
use mtsa_io::{Affine, Reorientation, Volume};
use ndarray::Array3;
use proptest::prelude::*;

/// A signed permutation (voxel axis `perm[w]` along world axis w, negated when `flip[w]`),
/// rotated by `tilt` radians about the world z axis, scaled by `spacing`.
fn affine(
    perm: [usize; 3],
    flip: [bool; 3],
    tilt: f64,
    spacing: [f64; 3],
    origin: [f64; 3],
) -> Affine {
    let mut m = [[0.0; 3]; 3];
    for w in 0..3 {
        m[w][perm[w]] = if flip[w] { -1.0 } else { 1.0 };
    }
    let (s, c) = tilt.sin_cos();
    let rz = [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]];
    let mut a = [[0.0; 4]; 4];
    for w in 0..3 {
        for v in 0..3 {
            a[w][v] = (0..3).map(|u| rz[w][u] * m[u][v]).sum::<f64>() * spacing[v];
        }
        a[w][3] = origin[w];
    }
    a[3][3] = 1.0;
    a
}

fn permutation() -> impl Strategy<Value = [usize; 3]> {
    Just([0usize, 1, 2])
        .prop_shuffle()
        .prop_map(|v| [v[0], v[1], v[2]])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_series_reads_back_as_the_same_image_in_world_space(
        perm in permutation(),
        flip in any::<[bool; 3]>(),
        oblique in any::<bool>(),
        spacing in [0.4f64..4.0, 0.4f64..4.0, 0.4f64..4.0],
        origin in [-150.0f64..150.0, -150.0f64..150.0, -150.0f64..150.0],
        shape in [2usize..5, 2usize..5, 2usize..5],
    ) {
        let tilt = if oblique { 0.1 } else { 0.0 };
        let a = affine(perm, flip, tilt, spacing, origin);
        let data = Array3::from_shape_fn((shape[0], shape[1], shape[2]), |(i, j, k)| (i * 100 + j * 10 + k) as i16);
        let vol = Volume::new(data, a);
        let dir = tempfile::tempdir().unwrap();
        let series = dir.path().join("series");
        let meta = SeriesMeta { uids: UidSource::Seeded(1), ..SeriesMeta::default() };
        write_series(&series, &vol, &meta).unwrap();
        let (back, _) = read_series(&series, None).unwrap();
        let want = Reorientation::for_volume(&vol).apply(&vol);
        let got = Reorientation::for_volume(&back).apply(&back);
        prop_assert_eq!(got.shape(), want.shape());
        prop_assert_eq!(got.data.mapv(|x| x.round() as i16), want.data);
        for (w, (g_row, w_row)) in got.affine.iter().zip(&want.affine).enumerate().take(3) {
            for (v, (g, x)) in g_row.iter().zip(w_row).enumerate() {
                prop_assert!((g - x).abs() < 1e-3, "affine[{}][{}]: {} read back, {} written", w, v, g, x);
            }
        }
    }
}
