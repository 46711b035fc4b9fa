//! Polygon fill for structure-set contours. A pixel belongs to the ROI when its centre is inside
//! an odd number of the slice's contours (even-odd rule): that is how holes, stored as separate
//! contours, are cut out, and how most planning systems rasterise.

/// Fills the `w x h` grid of pixel centres `(x, y)`, `x in 0..w`, `y in 0..h` (polygon
/// coordinates are in the same index units). Returns `inside[x + w * y]`.
pub(crate) fn fill_even_odd(polygons: &[Vec<[f64; 2]>], w: usize, h: usize) -> Vec<bool> {
    let mut inside = vec![false; w * h];
    let mut crossings = Vec::new();
    for y in 0..h {
        let yc = y as f64;
        crossings.clear();
        for poly in polygons {
            let n = poly.len();
            for e in 0..n {
                let (p, q) = (poly[e], poly[(e + 1) % n]);
                // Half-open in y, so a vertex exactly on the scanline counts once.
                if (p[1] <= yc) != (q[1] <= yc) {
                    crossings.push(p[0] + (yc - p[1]) * (q[0] - p[0]) / (q[1] - p[1]));
                }
            }
        }
        crossings.sort_by(f64::total_cmp);
        for pair in crossings.chunks_exact(2) {
            // Centres x with a < x <= b are inside this span.
            let first = (pair[0].floor() + 1.0).max(0.0);
            let last = pair[1].floor().min(w as f64 - 1.0);
            if first > last {
                continue;
            }
            for x in first as usize..=last as usize {
                inside[x + w * y] = true;
            }
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_with_hole() {
        let outer = vec![[0.5, 0.5], [6.5, 0.5], [6.5, 6.5], [0.5, 6.5]];
        let hole = vec![[2.5, 2.5], [4.5, 2.5], [4.5, 4.5], [2.5, 4.5]];
        let m = fill_even_odd(&[outer, hole], 8, 8);
        let count = m.iter().filter(|v| **v).count();
        assert_eq!(count, 36 - 4);
        assert!(m[1 + 8]);
        assert!(!m[3 + 8 * 3]);
        assert!(!m[0]);
    }
}
