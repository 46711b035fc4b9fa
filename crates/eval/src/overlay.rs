//! Slice pictures with contours, the evidence a clinician checks first.

use crate::EvalError;
use image::{ImageBuffer, Rgb};
use ndarray::ArrayView2;
use std::io::Cursor;

/// A mask drawn as its outline in one colour.
pub struct Outline<'a> {
    pub mask: ArrayView2<'a, bool>,
    pub color: [u8; 3],
}

/// PNG of a [0, 1] intensity slice as prepared (rows anterior to posterior, columns towards
/// patient right: neurological convention) magnified `scale` times, with outlines.
pub fn render_overlay(
    image: ArrayView2<f32>,
    outlines: &[Outline],
    scale: u32,
) -> Result<Vec<u8>, EvalError> {
    let (h, w) = image.dim();
    let s = scale.max(1) as usize;
    let mut img = ImageBuffer::<Rgb<u8>, Vec<u8>>::new((w * s) as u32, (h * s) as u32);
    for ((r, c), v) in image.indexed_iter() {
        let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        fill(&mut img, r, c, s, [g, g, g]);
    }
    for o in outlines {
        for ((r, c), &inside) in o.mask.indexed_iter() {
            if inside && on_boundary(&o.mask, r, c) {
                fill(&mut img, r, c, s, o.color);
            }
        }
    }
    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| EvalError::Usage(format!("PNG encoding failed: {e}")))?;
    Ok(png)
}

/// Mask minus its 4-connected erosion, the same boundary the surface metrics use.
fn on_boundary(m: &ArrayView2<bool>, r: usize, c: usize) -> bool {
    let (h, w) = m.dim();
    r == 0
        || c == 0
        || r + 1 == h
        || c + 1 == w
        || !m[[r - 1, c]]
        || !m[[r + 1, c]]
        || !m[[r, c - 1]]
        || !m[[r, c + 1]]
}

fn fill(img: &mut ImageBuffer<Rgb<u8>, Vec<u8>>, r: usize, c: usize, s: usize, color: [u8; 3]) {
    for dy in 0..s {
        for dx in 0..s {
            img.put_pixel((c * s + dx) as u32, (r * s + dy) as u32, Rgb(color));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn outline_pixels_take_the_outline_colour() {
        let image = Array2::<f32>::zeros((8, 8));
        let mut mask = Array2::from_elem((8, 8), false);
        mask.slice_mut(ndarray::s![2..6, 2..6]).fill(true);
        let png = render_overlay(
            image.view(),
            &[Outline {
                mask: mask.view(),
                color: [255, 0, 0],
            }],
            1,
        )
        .unwrap();
        let decoded = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(decoded.get_pixel(2, 2).0, [255, 0, 0]);
        assert_eq!(decoded.get_pixel(3, 3).0, [0, 0, 0]);
        assert_eq!(decoded.get_pixel(0, 0).0, [0, 0, 0]);
    }
}
