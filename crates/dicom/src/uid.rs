//! Deterministic DICOM UIDs. Files written from the same seed must be byte-identical (tests,
//! reproducible synthetic cohorts), so no clock or OS randomness is used: every UID is a UUID
//! drawn from a ChaCha20 stream keyed by the seed and a context string, under the `2.25` root
//! (ISO/IEC 9834-8 UUID-derived UIDs), which needs no registered organisation root.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// The fixed UID root; UUIDs as one decimal integer below it.
pub const UID_ROOT: &str = "2.25";

/// What a UID identifies; each kind has its own ChaCha stream so kinds never collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UidKind {
    Study = 1,
    Series = 2,
    FrameOfReference = 3,
    SopInstance = 4,
}

/// Generates the UIDs of one written object (a series, or a structure set).
pub(crate) struct UidGenerator {
    key: [u8; 32],
}

impl UidGenerator {
    /// `context` separates objects written with the same seed, e.g. a structure set is keyed by
    /// the UID of the series it annotates so two masks of different series never share UIDs.
    pub fn new(seed: u64, context: &str) -> Self {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..16]
            .copy_from_slice(&fnv1a64(context.as_bytes(), 0xcbf2_9ce4_8422_2325).to_le_bytes());
        key[16..24]
            .copy_from_slice(&fnv1a64(context.as_bytes(), 0x6c62_272e_07bb_0142).to_le_bytes());
        key[24..32].copy_from_slice(b"mtsa-uid");
        Self { key }
    }

    /// The `index`-th UID of `kind` (index: slice number for SOP instances, 0 otherwise).
    pub fn uid(&self, kind: UidKind, index: u64) -> String {
        let mut rng = ChaCha20Rng::from_seed(self.key);
        rng.set_stream(kind as u64);
        rng.set_word_pos(u128::from(index) * 4);
        let mut v = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
        // Make it a valid version-4, RFC 4122-variant UUID as 2.25 requires.
        v &= !(0xF_u128 << 76);
        v |= 0x4_u128 << 76;
        v &= !(0x3_u128 << 62);
        v |= 0x2_u128 << 62;
        format!("{UID_ROOT}.{v}")
    }
}

/// FNV-1a: a fixed, documented hash (std's hasher may change between Rust releases).
fn fnv1a64(bytes: &[u8], offset: u64) -> u64 {
    bytes.iter().fold(offset, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A UID is at most 64 characters of digits and dots, with no empty or zero-padded components.
pub fn is_valid_uid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= 64
        && uid.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
                && (c == "0" || !c.starts_with('0'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_uids_and_kinds_differ() {
        let a = UidGenerator::new(7, "x");
        let b = UidGenerator::new(7, "x");
        assert_eq!(a.uid(UidKind::Series, 0), b.uid(UidKind::Series, 0));
        assert_ne!(a.uid(UidKind::Series, 0), a.uid(UidKind::Study, 0));
        assert_ne!(
            a.uid(UidKind::SopInstance, 0),
            a.uid(UidKind::SopInstance, 1)
        );
        assert_ne!(
            a.uid(UidKind::Series, 0),
            UidGenerator::new(8, "x").uid(UidKind::Series, 0)
        );
        assert_ne!(
            a.uid(UidKind::Series, 0),
            UidGenerator::new(7, "y").uid(UidKind::Series, 0)
        );
        for k in 0..50 {
            let u = a.uid(UidKind::SopInstance, k);
            assert!(is_valid_uid(&u), "{u}");
        }
    }
}
