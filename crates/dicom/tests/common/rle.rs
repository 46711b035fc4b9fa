//! RLE Lossless pixel data for tests and fuzz seeds (std only, so `fuzz/` can include this file
//! by path).

/// Minimal RLE Lossless encoder (literal runs only) for one 16-bit frame: dicom-rs decodes
/// RLE but does not encode it.
pub fn rle_encode_u16(pixels: &[u16]) -> Vec<u8> {
    let segment = |bytes: Vec<u8>| {
        let mut out = Vec::new();
        let mut chunks: Vec<&[u8]> = bytes.chunks(128).collect();
        // Segments must have even length: split one chunk to add a header byte if needed.
        if (bytes.len() + chunks.len()) % 2 == 1 {
            let last = chunks.pop().expect("chunk");
            if last.len() >= 2 {
                chunks.push(&last[..1]);
                chunks.push(&last[1..]);
            } else {
                chunks.push(last);
            }
        }
        for c in chunks {
            out.push((c.len() - 1) as u8);
            out.extend_from_slice(c);
        }
        if out.len() % 2 == 1 {
            out.push(0);
        }
        out
    };
    let hi = segment(pixels.iter().map(|p| (p >> 8) as u8).collect());
    let lo = segment(pixels.iter().map(|p| (p & 0xff) as u8).collect());
    let mut header = [0u32; 16];
    header[0] = 2;
    header[1] = 64;
    header[2] = 64 + hi.len() as u32;
    let mut out: Vec<u8> = header.iter().flat_map(|v| v.to_le_bytes()).collect();
    out.extend(hi);
    out.extend(lo);
    out
}
