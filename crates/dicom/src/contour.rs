//! Boundary tracing of a binary slice into closed polygons for a structure set.
//!
//! The trace follows pixel *edges* (crack following), not pixel centres: every vertex lies on a
//! pixel corner, so each pixel centre is strictly inside or outside the polygons and the
//! even-odd fill in `raster` gives back exactly the traced pixels (a centre-line trace would put
//! boundary centres on the polygon, which loses about half of a small lesion's rim).
//!
//! Each loop is the outer boundary of a 4-connected component or the boundary of one of its
//! holes; holes come out as separate contours, which the even-odd rule cuts out again.

/// Unit steps of the four edge directions: +x, +y, -x, -y (x = first index, y = second).
const STEP: [(i64, i64); 4] = [(1, 0), (0, 1), (-1, 0), (0, -1)];

/// Traces the foreground of a `w x h` slice (`fg(x, y)`) into closed loops. Points are in index
/// units, on pixel corners (`x - 0.5`, `y - 0.5`), with collinear points removed; loops come in
/// raster order of their first vertex, so output is deterministic.
pub(crate) fn trace_loops(
    w: usize,
    h: usize,
    fg: impl Fn(usize, usize) -> bool,
) -> Vec<Vec<[f64; 2]>> {
    let vw = w + 1;
    let vertex = |x: usize, y: usize| x + vw * y;
    // out[v]: bit d set when a boundary edge leaves corner v in direction d. Edges run with the
    // foreground on their right (in the x-right, y-down frame), so loops close consistently.
    let mut out = vec![0u8; vw * (h + 1)];
    let is_fg = |x: i64, y: i64| {
        x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h && fg(x as usize, y as usize)
    };
    for y in 0..h {
        for x in 0..w {
            if !fg(x, y) {
                continue;
            }
            let (xi, yi) = (x as i64, y as i64);
            if !is_fg(xi, yi - 1) {
                out[vertex(x, y)] |= 1 << 0;
            }
            if !is_fg(xi + 1, yi) {
                out[vertex(x + 1, y)] |= 1 << 1;
            }
            if !is_fg(xi, yi + 1) {
                out[vertex(x + 1, y + 1)] |= 1 << 2;
            }
            if !is_fg(xi - 1, yi) {
                out[vertex(x, y + 1)] |= 1 << 3;
            }
        }
    }
    let mut used = vec![0u8; out.len()];
    let mut loops = Vec::new();
    for start in 0..out.len() {
        while out[start] & !used[start] != 0 {
            let d0 = (out[start] & !used[start]).trailing_zeros() as usize;
            loops.push(trace_one(start, d0, vw, &out, &mut used));
        }
    }
    loops
}

/// Follows one loop from edge (`start`, `d0`) until it returns to that edge.
fn trace_one(start: usize, d0: usize, vw: usize, out: &[u8], used: &mut [u8]) -> Vec<[f64; 2]> {
    let corner = |v: usize| [(v % vw) as f64 - 0.5, (v / vw) as f64 - 0.5];
    let mut points = Vec::new();
    let (mut v, mut d) = (start, d0);
    loop {
        used[v] |= 1 << d;
        let (dx, dy) = STEP[d];
        let next = ((v % vw) as i64 + dx) as usize + vw * ((v / vw) as i64 + dy) as usize;
        // Prefer turning right (towards the foreground), then straight, then left. At a corner
        // shared by two diagonal pixels this keeps each pixel with its own loop (4-connectivity);
        // it also pairs every incoming edge with exactly one outgoing edge.
        let Some(nd) = [(d + 1) % 4, d, (d + 3) % 4]
            .into_iter()
            .find(|&c| out[next] & (1 << c) != 0)
        else {
            break; // unreachable for a well-formed boundary; ends the loop defensively
        };
        if nd != d {
            points.push(corner(next));
        }
        if next == start && nd == d0 {
            break;
        }
        if used[next] & (1 << nd) != 0 {
            break; // defensive: never revisit an edge
        }
        v = next;
        d = nd;
    }
    // The start corner is a turn only if the closing edge changes direction there; it was pushed
    // above in that case. Straight starts are dropped, which leaves a closed polygon of corners.
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::fill_even_odd;
    use rand::{Rng, SeedableRng};

    fn round_trip(w: usize, h: usize, img: &[bool]) {
        let loops = trace_loops(w, h, |x, y| img[x + w * y]);
        let back = fill_even_odd(&loops, w, h);
        assert_eq!(back, img, "loops {loops:?}");
    }

    #[test]
    fn single_pixel_is_a_square() {
        let loops = trace_loops(3, 3, |x, y| x == 1 && y == 1);
        assert_eq!(loops.len(), 1);
        assert_eq!(loops[0].len(), 4);
    }

    #[test]
    fn ring_gives_outer_and_hole() {
        let (w, h) = (7, 7);
        let img: Vec<bool> = (0..w * h)
            .map(|p| {
                let (x, y) = (p % w, p / w);
                (1..=5).contains(&x) && (1..=5).contains(&y) && !(x == 3 && y == 3)
            })
            .collect();
        let loops = trace_loops(w, h, |x, y| img[x + w * y]);
        assert_eq!(loops.len(), 2);
        round_trip(w, h, &img);
    }

    #[test]
    fn diagonal_pixels_are_separate_components() {
        let img = [true, false, false, true];
        let loops = trace_loops(2, 2, |x, y| img[x + 2 * y]);
        assert_eq!(loops.len(), 2);
        round_trip(2, 2, &img);
    }

    #[test]
    fn random_images_fill_back_exactly() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..200 {
            let (w, h) = (rng.random_range(1..12), rng.random_range(1..12));
            let p = rng.random_range(0.2..0.8);
            let img: Vec<bool> = (0..w * h).map(|_| rng.random_bool(p)).collect();
            round_trip(w, h, &img);
        }
    }
}
