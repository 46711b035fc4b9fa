//! DICOM UIDs: version-4 UUIDs under the `2.25` root (ISO/IEC 9834-8 UUID-derived UIDs), which
//! needs no registered organisation root. Each UID is drawn from a ChaCha20 stream whose key is
//! either 256 bits from the OS ([`UidSource::Random`], the default: two objects written from
//! the same inputs must never share a UID, or a PACS takes the second for the first) or a seed
//! and a context string ([`UidSource::Seeded`]: byte-identical files for tests and reproducible
//! synthetic cohorts).

use crate::dataset::{str_elem, Obj};
use dicom_core::VR;
use dicom_dictionary_std::tags;
use rand::rngs::OsRng;
use rand::{RngCore, SeedableRng, TryRngCore};
use rand_chacha::ChaCha20Rng;

/// Where the UIDs of a written object come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UidSource {
    /// Fresh UIDs from OS randomness for every object written, and the current time as
    /// Instance Creation Date/Time.
    #[default]
    Random,
    /// UIDs derived from this seed and the object's context; no creation date/time is written,
    /// so the same inputs give byte-identical files.
    Seeded(u64),
}

/// The fixed UID root; UUIDs as one decimal integer below it.
pub const UID_ROOT: &str = "2.25";

/// What a UID identifies; each kind has its own ChaCha stream so kinds never collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UidKind {
    Study = 1,
    Series = 2,
    FrameOfReference = 3,
    SopInstance = 4,
    DimensionOrganization = 5,
}

/// Generates the UIDs of one written object (a series, or a structure set).
pub(crate) struct UidGenerator {
    key: [u8; 32],
    /// Instance Creation (Date, Time) in UTC; `None` for seeded output.
    created: Option<(String, String)>,
}

impl UidGenerator {
    /// `context` separates objects written with the same seed, e.g. a structure set is keyed by
    /// the UID of the series it annotates so two masks of different series never share UIDs.
    /// Fails only when the OS has no randomness to give.
    pub fn new(source: UidSource, context: &str) -> Result<Self, String> {
        match source {
            UidSource::Seeded(seed) => Ok(Self::seeded(seed, context)),
            UidSource::Random => {
                let mut key = [0u8; 32];
                OsRng
                    .try_fill_bytes(&mut key)
                    .map_err(|e| format!("no OS randomness for UIDs: {e}"))?;
                Ok(Self {
                    key,
                    created: Some(utc_now()),
                })
            }
        }
    }

    fn seeded(seed: u64, context: &str) -> Self {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..16]
            .copy_from_slice(&fnv1a64(context.as_bytes(), 0xcbf2_9ce4_8422_2325).to_le_bytes());
        key[16..24]
            .copy_from_slice(&fnv1a64(context.as_bytes(), 0x6c62_272e_07bb_0142).to_le_bytes());
        key[24..32].copy_from_slice(b"mtsa-uid");
        Self { key, created: None }
    }

    /// Instance Creation Date (YYYYMMDD) and Time (HHMMSS), UTC, when the output is not seeded.
    pub fn created(&self) -> Option<(&str, &str)> {
        self.created.as_ref().map(|(d, t)| (d.as_str(), t.as_str()))
    }

    /// Puts Instance Creation Date/Time (with a +0000 offset, they are UTC) on `obj` when the
    /// output is not seeded.
    pub fn stamp(&self, obj: &mut Obj) {
        if let Some((date, time)) = self.created() {
            obj.put(str_elem(tags::INSTANCE_CREATION_DATE, VR::DA, date));
            obj.put(str_elem(tags::INSTANCE_CREATION_TIME, VR::TM, time));
            obj.put(str_elem(tags::TIMEZONE_OFFSET_FROM_UTC, VR::SH, "+0000"));
        }
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

/// The current UTC date and time as DICOM DA and TM strings (civil calendar from the Unix day
/// count, H. Hinnant's algorithm), to avoid a clock dependency for two attributes.
fn utc_now() -> (String, String) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    da_tm(secs)
}

/// Seconds since the Unix epoch as UTC (DA, TM).
fn da_tm(secs: u64) -> (String, String) {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}{month:02}{day:02}"),
        format!("{:02}{:02}{:02}", rem / 3600, rem / 60 % 60, rem % 60),
    )
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
    fn random_uids_differ_between_objects() {
        let a = UidGenerator::new(UidSource::Random, "x").expect("os rng");
        let b = UidGenerator::new(UidSource::Random, "x").expect("os rng");
        assert_ne!(a.uid(UidKind::Series, 0), b.uid(UidKind::Series, 0));
        assert!(is_valid_uid(&a.uid(UidKind::SopInstance, 3)));
        let (date, time) = a.created().expect("dated");
        assert!(
            date.len() == 8 && date.as_bytes()[0] == b'2' && time.len() == 6,
            "{date} {time}"
        );
    }

    #[test]
    fn dates_match_the_calendar() {
        let s = |d: &str, t: &str| (d.to_string(), t.to_string());
        assert_eq!(da_tm(0), s("19700101", "000000"));
        assert_eq!(da_tm(951_868_800), s("20000301", "000000"));
        assert_eq!(da_tm(1_709_251_199), s("20240229", "235959"));
    }

    #[test]
    fn same_seed_same_uids_and_kinds_differ() {
        let a = UidGenerator::seeded(7, "x");
        let b = UidGenerator::seeded(7, "x");
        assert_eq!(a.uid(UidKind::Series, 0), b.uid(UidKind::Series, 0));
        assert_ne!(a.uid(UidKind::Series, 0), a.uid(UidKind::Study, 0));
        assert_ne!(
            a.uid(UidKind::SopInstance, 0),
            a.uid(UidKind::SopInstance, 1)
        );
        assert_ne!(
            a.uid(UidKind::Series, 0),
            UidGenerator::seeded(8, "x").uid(UidKind::Series, 0)
        );
        assert_ne!(
            a.uid(UidKind::Series, 0),
            UidGenerator::seeded(7, "y").uid(UidKind::Series, 0)
        );
        for k in 0..50 {
            let u = a.uid(UidKind::SopInstance, k);
            assert!(is_valid_uid(&u), "{u}");
        }
    }
}
