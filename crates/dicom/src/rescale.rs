//! Choosing how real-valued voxels are stored as 16-bit DICOM pixels. MR Image Storage holds
//! integers; Rescale Slope/Intercept map them back. Integer volumes that fit 16 bits are stored
//! exactly; anything else is spread over the full uint16 range, so the error is at most half a
//! step, (max - min) / 65534 / 2.

use crate::dataset::ds_round;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PixelEncoding {
    /// Pixel Representation 1 (int16) instead of 0 (uint16).
    pub signed: bool,
    /// Exactly the values written as DS strings, so decoding here and in any reader agree.
    pub slope: f64,
    pub intercept: f64,
}

impl PixelEncoding {
    /// Picks the encoding for these values; fails on non-finite ones.
    pub fn choose(values: impl Iterator<Item = f64> + Clone) -> Result<Self, String> {
        let (mut min, mut max, mut integral) = (f64::INFINITY, f64::NEG_INFINITY, true);
        for v in values {
            if !v.is_finite() {
                return Err(format!("the volume contains a non-finite value ({v})"));
            }
            min = min.min(v);
            max = max.max(v);
            integral &= v.fract() == 0.0;
        }
        if !min.is_finite() {
            return Err("the volume is empty".into());
        }
        if integral && min >= 0.0 && max <= f64::from(u16::MAX) {
            return Ok(Self::identity(false));
        }
        if integral && min >= f64::from(i16::MIN) && max <= f64::from(i16::MAX) {
            return Ok(Self::identity(true));
        }
        let intercept = ds_round(min);
        // One spare step of headroom absorbs the DS rounding of slope and intercept.
        let slope = ds_round(((max - intercept) / 65534.0).max(f64::MIN_POSITIVE));
        let slope = if slope > 0.0 { slope } else { 1.0 };
        Ok(Self {
            signed: false,
            slope,
            intercept,
        })
    }

    fn identity(signed: bool) -> Self {
        Self {
            signed,
            slope: 1.0,
            intercept: 0.0,
        }
    }

    /// The stored 16-bit word for a value (two's complement when signed).
    pub fn encode(&self, v: f64) -> u16 {
        let q = ((v - self.intercept) / self.slope).round();
        if self.signed {
            q.clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16 as u16
        } else {
            q.clamp(0.0, f64::from(u16::MAX)) as u16
        }
    }

    pub fn decode(&self, word: u16) -> f64 {
        let raw = if self.signed {
            f64::from(word as i16)
        } else {
            f64::from(word)
        };
        raw * self.slope + self.intercept
    }

    #[cfg(test)]
    /// Largest absolute error of `decode(encode(v))` for values in the encoded range.
    pub fn max_error(&self) -> f64 {
        if self.slope == 1.0 && self.intercept == 0.0 {
            0.0
        } else {
            self.slope / 2.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_exact() {
        let e = PixelEncoding::choose([0.0, 10.0, 4000.0].into_iter()).expect("ok");
        assert_eq!(e, PixelEncoding::identity(false));
        let e = PixelEncoding::choose([-1000.0, 3000.0].into_iter()).expect("ok");
        assert!(e.signed);
        assert_eq!(e.decode(e.encode(-1000.0)), -1000.0);
    }

    #[test]
    fn floats_within_half_step() {
        let vals: Vec<f64> = (0..1000).map(|i| -3.7 + i as f64 * 0.0123456).collect();
        let e = PixelEncoding::choose(vals.iter().copied()).expect("ok");
        for v in vals {
            let back = e.decode(e.encode(v));
            assert!((back - v).abs() <= e.max_error() * 1.0001, "{v} {back}");
        }
        assert!(PixelEncoding::choose([f64::NAN].into_iter()).is_err());
    }
}
