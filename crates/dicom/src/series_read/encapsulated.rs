//! Compressed (encapsulated) pixel data checked before a codec sees it. The codecs trust the
//! sizes written inside the compressed stream and allocate them first: a 2 KB file whose JPEG
//! 2000 header declares 2,000,000 x 2,000,000 pixels, or whose JPEG header declares 65,535 x
//! 65,535, held 24 GB and was killed by the system; an RLE header declaring 4 billion
//! segments asked for 17 GB (found by fuzzing). So every compressed frame's own header must
//! describe the image its DICOM attributes describe, which the volume size limit already
//! bounds: one grey channel of Rows x Columns.

use crate::DicomError;
use std::path::Path;

/// RLE Lossless (PS3.5 G.5): each frame's fragment starts with a 64-byte header.
const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";
/// A JPEG 2000 tile grid finer than this is no real encoder's (they write one tile, or tiles of
/// 256 px and up), and each tile costs the decoder kilobytes before any pixel is read.
const MAX_JPEG2000_TILES: u64 = 4096;

/// The checks: RLE headers for RLE Lossless; for any other encapsulated syntax, the JPEG or
/// JPEG 2000 header of every fragment that starts a codestream, and the first fragment must
/// start one.
pub(super) fn check_encapsulated(
    syntax: &str,
    fragments: &[Vec<u8>],
    rows: usize,
    cols: usize,
    path: &Path,
) -> Result<(), DicomError> {
    let refuse = |i: usize, problem: String| DicomError::PixelData {
        path: path.to_path_buf(),
        reason: format!("compressed fragment {}: {problem}", i + 1),
    };
    if syntax.trim_end_matches('\0') == RLE_LOSSLESS {
        for (i, fragment) in fragments.iter().enumerate() {
            let segments = fragment
                .get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            if fragment.len() < 64 || segments.is_none_or(|n| n > 15) {
                return Err(refuse(
                    i,
                    "no valid RLE header (64 bytes, at most 15 segments)".into(),
                ));
            }
        }
        return Ok(());
    }
    let mut headers = 0;
    for (i, fragment) in fragments.iter().enumerate() {
        let declared = if fragment.starts_with(&[0xFF, 0xD8]) {
            jpeg_frame_size(fragment)
        } else if let Some(at) = jpeg2000_codestream(fragment) {
            jpeg2000_size(&fragment[at..])
        } else if i == 0 {
            Err("starts with neither a JPEG nor a JPEG 2000 header".into())
        } else {
            // The rest of a frame split over several fragments.
            continue;
        }
        .map_err(|p| refuse(i, p))?;
        headers += 1;
        if declared != (rows, cols, 1) {
            return Err(refuse(
                i,
                format!(
                    "its header declares {} x {} pixels of {} components, but Rows x Columns \
                     is {rows} x {cols} of one",
                    declared.0, declared.1, declared.2
                ),
            ));
        }
    }
    if headers == 0 && !fragments.is_empty() {
        return Err(refuse(0, "no codestream header".into()));
    }
    Ok(())
}

/// Where a JPEG 2000 codestream starts in a fragment: at 0 (SOC then SIZ, as DICOM asks), or
/// inside a JP2 file some encoders write instead (signature box first).
fn jpeg2000_codestream(fragment: &[u8]) -> Option<usize> {
    const SOC_SIZ: [u8; 4] = [0xFF, 0x4F, 0xFF, 0x51];
    const JP2_SIGNATURE: [u8; 12] = [
        0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A,
    ];
    if fragment.starts_with(&SOC_SIZ) {
        return Some(0);
    }
    if !fragment.starts_with(&JP2_SIGNATURE) {
        return None;
    }
    fragment.windows(4).position(|w| w == SOC_SIZ)
}

fn be_u16(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_be_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn be_u32(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_be_bytes(
        b.get(at..at + 4)?.try_into().ok()?,
    )))
}

/// (rows, columns, components) of a JPEG 2000 codestream's SIZ segment (ISO 15444-1 A.5.1),
/// whose tile grid must also stay within [`MAX_JPEG2000_TILES`].
fn jpeg2000_size(codestream: &[u8]) -> Result<(usize, usize, usize), String> {
    let field = |at: usize| be_u32(codestream, at).ok_or("a truncated SIZ segment");
    let (x, y, x0, y0) = (field(8)?, field(12)?, field(16)?, field(20)?);
    let (tile_x, tile_y, tile_x0, tile_y0) = (field(24)?, field(28)?, field(32)?, field(36)?);
    let components = be_u16(codestream, 40).ok_or("a truncated SIZ segment")?;
    if x0 >= x || y0 >= y || tile_x == 0 || tile_y == 0 || tile_x0 > x0 || tile_y0 > y0 {
        return Err("an inconsistent SIZ segment".into());
    }
    let tiles = (x - tile_x0).div_ceil(tile_x) * (y - tile_y0).div_ceil(tile_y);
    if tiles > MAX_JPEG2000_TILES {
        return Err(format!(
            "a grid of {tiles} tiles (at most {MAX_JPEG2000_TILES})"
        ));
    }
    Ok(((y - y0) as usize, (x - x0) as usize, components as usize))
}

/// (rows, columns, components) of a JPEG or JPEG-LS stream's start-of-frame segment (ITU T.81
/// B.2.2, T.87 C.2.2), walking the marker segments before it.
fn jpeg_frame_size(stream: &[u8]) -> Result<(usize, usize, usize), String> {
    let mut at = 2; // after SOI
    loop {
        // Markers may be preceded by fill bytes 0xFF.
        while stream.get(at) == Some(&0xFF) && stream.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (stream.get(at), stream.get(at + 1)) else {
            return Err("no JPEG start-of-frame before the data".into());
        };
        let length = be_u16(stream, at + 2).ok_or("a truncated JPEG header")? as usize;
        // SOF0-SOF15 but DHT, JPG and DAC; and JPEG-LS's SOF55 (ITU T.87 C.2.2), laid out alike.
        let is_frame = (matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC))
            || marker == 0xF7;
        if is_frame {
            let rows = be_u16(stream, at + 5).ok_or("a truncated JPEG frame header")?;
            let cols = be_u16(stream, at + 7).ok_or("a truncated JPEG frame header")?;
            let components = stream.get(at + 9).ok_or("a truncated JPEG frame header")?;
            return Ok((rows as usize, cols as usize, usize::from(*components)));
        }
        if marker == 0xDA || length < 2 {
            return Err("no JPEG start-of-frame before the data".into());
        }
        at += 2 + length;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(rows: u16, cols: u16) -> Vec<u8> {
        let mut s = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00];
        s.extend([0xFF, 0xC3, 0x00, 0x0B, 16]);
        s.extend(rows.to_be_bytes());
        s.extend(cols.to_be_bytes());
        s.extend([1, 1, 0x11, 0]);
        s.extend([0xFF, 0xDA, 0x00, 0x02]);
        s
    }

    /// The same stream with JPEG-LS's start of frame, SOF55.
    fn jpeg_ls(rows: u16, cols: u16) -> Vec<u8> {
        let mut s = jpeg(rows, cols);
        s[9] = 0xF7;
        s
    }

    fn jpeg2000(x: u32, y: u32, tile: u32, components: u16) -> Vec<u8> {
        let mut s = vec![0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x29, 0x00, 0x00];
        for v in [x, y, 0, 0, tile, tile, 0, 0] {
            s.extend(v.to_be_bytes());
        }
        s.extend(components.to_be_bytes());
        s.extend([0x0F, 1, 1]);
        s
    }

    fn check(syntax: &str, fragments: &[Vec<u8>]) -> Result<(), String> {
        check_encapsulated(syntax, fragments, 40, 48, Path::new("f.dcm")).map_err(|e| e.to_string())
    }

    #[test]
    fn headers_that_describe_the_image_pass() {
        let j2k = "1.2.840.10008.1.2.4.90";
        assert!(check("1.2.840.10008.1.2.4.70", &[jpeg(40, 48)]).is_ok());
        assert!(check("1.2.840.10008.1.2.4.80", &[jpeg_ls(40, 48)]).is_ok());
        assert!(check(j2k, &[jpeg2000(48, 40, 48, 1)]).is_ok());
        // A frame over two fragments: the second carries data only.
        assert!(check(j2k, &[jpeg2000(48, 40, 16, 1), vec![0x12; 100]]).is_ok());
        let mut rle = vec![0u8; 64];
        rle[0] = 2;
        assert!(check(RLE_LOSSLESS, &[rle]).is_ok());
    }

    #[test]
    fn headers_that_declare_another_image_are_refused_before_decoding() {
        let j2k = "1.2.840.10008.1.2.4.90";
        let jpeg_bomb = check("1.2.840.10008.1.2.4.70", &[jpeg(65535, 65535)]).unwrap_err();
        assert!(
            jpeg_bomb.contains("65535 x 65535") && jpeg_bomb.contains("f.dcm"),
            "{jpeg_bomb}"
        );
        let ls_bomb = check("1.2.840.10008.1.2.4.80", &[jpeg_ls(65535, 65535)]).unwrap_err();
        assert!(ls_bomb.contains("65535 x 65535"), "{ls_bomb}");
        let big = check(j2k, &[jpeg2000(2_000_000, 2_000_000, 2_000_000, 1)]).unwrap_err();
        assert!(big.contains("2000000 x 2000000"), "{big}");
        assert!(check(j2k, &[jpeg2000(48, 40, 48, 3)])
            .unwrap_err()
            .contains("3 components"));
        assert!(check(j2k, &[vec![0x12; 100]])
            .unwrap_err()
            .contains("neither"));
        assert!(check(j2k, &[jpeg2000(48, 40, 48, 1)[..20].to_vec()])
            .unwrap_err()
            .contains("truncated"));
        let mut rle = vec![0u8; 64];
        rle[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(check(RLE_LOSSLESS, &[rle])
            .unwrap_err()
            .contains("RLE header"));
    }

    #[test]
    fn a_tile_grid_finer_than_any_encoder_writes_is_refused() {
        let j2k = "1.2.840.10008.1.2.4.90";
        let at = |tile| {
            check_encapsulated(
                j2k,
                &[jpeg2000(512, 512, tile, 1)],
                512,
                512,
                Path::new("f"),
            )
        };
        assert!(at(256).is_ok());
        assert!(at(8).is_ok()); // 4096 tiles
        let err = at(1).unwrap_err().to_string();
        assert!(err.contains("262144 tiles"), "{err}");
    }
}
