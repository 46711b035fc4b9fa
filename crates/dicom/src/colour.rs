//! Display colours of the ROIs and segments we write: ROI n of a structure set and segment n of
//! a Segmentation get the same colour, so a viewer shows a lesion alike in both.

/// sRGB colours of ROIs (segments) 1, 2, ...: the first red, as a GTV is drawn, then colours
/// that stay apart on a grey image.
pub(crate) const COLOURS: [[u8; 3]; 8] = [
    [255, 0, 0],
    [255, 165, 0],
    [0, 200, 255],
    [255, 0, 255],
    [0, 255, 0],
    [255, 255, 0],
    [0, 100, 255],
    [160, 32, 240],
];

/// The colour of ROI (segment) `index` (from 0).
pub(crate) fn colour(index: usize) -> [u8; 3] {
    COLOURS[index % COLOURS.len()]
}

/// `rgb` as a Recommended Display CIELab Value (PS3.3 C.10.7.1.1): L* from 0-100 and a*, b*
/// from -128-127 scaled to 0-65535. sRGB to CIE XYZ (D65) to CIELab, as David Clunie's PixelMed
/// `ColorUtilities` converts and highdicom (`CIELabColor.from_rgb`) follows, so both read our
/// value back as the same colour.
pub(crate) fn cielab(rgb: [u8; 3]) -> [u16; 3] {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        100.0
            * if c > 0.04045 {
                ((c + 0.055) / 1.055).powf(2.4)
            } else {
                c / 12.92
            }
    };
    let [r, g, b] = rgb.map(linear);
    let x = (r * 0.4124 + g * 0.3576 + b * 0.1805) / 95.047;
    let y = (r * 0.2126 + g * 0.7152 + b * 0.0722) / 100.0;
    let z = (r * 0.0193 + g * 0.1192 + b * 0.9505) / 108.883;
    let f = |t: f64| {
        if t >= 8.856_451_679_035_631e-3 {
            t.cbrt()
        } else {
            (841.0 / 108.0) * t + 4.0 / 29.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    let l = (116.0 * fy - 16.0).clamp(0.0, 100.0);
    let a = (500.0 * (fx - fy)).clamp(-128.0, 127.0);
    let b = (200.0 * (fy - fz)).clamp(-128.0, 127.0);
    let scale = |v: f64, range: f64| (v * 65535.0 / range).round() as u16;
    [
        scale(l, 100.0),
        scale(a + 128.0, 255.0),
        scale(b + 128.0, 255.0),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_black_and_red_in_cielab() {
        // White: L* 100, a* = b* = 0 (0x8080).
        let white = cielab([255, 255, 255]);
        assert_eq!(white[0], 65535);
        assert!(white[1].abs_diff(0x8080) <= 20 && white[2].abs_diff(0x8080) <= 20);
        assert_eq!(cielab([0, 0, 0]), [0, 0x8080, 0x8080]);
        // sRGB red: L* 53.24, a* 80.09, b* 67.20 (the standard values).
        let red = cielab([255, 0, 0]);
        let back = [
            f64::from(red[0]) * 100.0 / 65535.0,
            f64::from(red[1]) * 255.0 / 65535.0 - 128.0,
            f64::from(red[2]) * 255.0 / 65535.0 - 128.0,
        ];
        for (got, want) in back.iter().zip([53.24, 80.09, 67.20]) {
            assert!((got - want).abs() < 0.05, "{back:?}");
        }
    }
}
