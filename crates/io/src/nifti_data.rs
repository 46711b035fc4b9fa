//! Reading a NIfTI-1 file as a stream: header, then exactly the voxel bytes the checked header
//! promises, then the rest of the stream to its end. Reading to the end makes the gzip decoder
//! verify its CRC-32 and length trailer and refuse trailing garbage; the caps keep a small
//! `.nii.gz` that expands to gigabytes from costing more than its header allows.

use crate::nifti_header::{affine_of, check_header, Dtype, Layout};
use crate::Affine;
use flate2::read::MultiGzDecoder;
use nifti::NiftiHeader;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// Bytes allowed after the voxel data (padding some writers add); more means the header's size
/// is wrong or the stream is a decompression bomb.
const MAX_TRAILING_BYTES: u64 = 1 << 20;

/// Voxel buffer reserved up front; larger volumes grow it as their bytes actually arrive.
const INITIAL_BUFFER_BYTES: u64 = 64 << 20;

/// The checked layout and affine, and the voxels as f32 in file order (x fastest), scaling applied.
pub(crate) fn read_stream(path: &Path) -> Result<(Layout, Affine, Vec<f32>), String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut file = BufReader::new(file);
    // By content rather than by name: a gzipped `.nii` or a plain `.nii.gz` still reads.
    let gzip = file
        .fill_buf()
        .map_err(|e| e.to_string())?
        .starts_with(&[0x1f, 0x8b]);
    let mut input: Box<dyn Read> = if gzip {
        Box::new(MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let stream_err = |what: &str, e: io::Error| format!("{what}: {e}");

    let mut raw_header = [0u8; 348];
    read_full(&mut input, &mut raw_header)
        .map_err(|e| stream_err("reading the 348-byte header", e))?;
    let header = NiftiHeader::from_reader(&raw_header[..]).map_err(|e| e.to_string())?;
    let layout = check_header(&header)?;
    let affine = affine_of(&header)?;

    let gap = layout.data_offset - 348;
    let skipped = io::copy(&mut (&mut input).take(gap), &mut io::sink())
        .map_err(|e| stream_err("reading extensions", e))?;
    if skipped < gap {
        return Err(format!(
            "file ends before vox_offset {}",
            layout.data_offset
        ));
    }
    // Grown as data arrives, so a truncated file that declares much costs only what it holds.
    let mut bytes = Vec::with_capacity(layout.data_bytes.min(INITIAL_BUFFER_BYTES) as usize);
    (&mut input)
        .take(layout.data_bytes)
        .read_to_end(&mut bytes)
        .map_err(|e| stream_err("reading voxel data", e))?;
    if (bytes.len() as u64) < layout.data_bytes {
        return Err(format!(
            "truncated: header promises {} bytes of voxel data, file holds {}",
            layout.data_bytes,
            bytes.len()
        ));
    }
    let trailing = io::copy(&mut input.take(MAX_TRAILING_BYTES + 1), &mut io::sink())
        .map_err(|e| stream_err("reading to the end of the stream", e))?;
    if trailing > MAX_TRAILING_BYTES {
        return Err(format!(
            "more than {MAX_TRAILING_BYTES} bytes follow the voxel data the header declares"
        ));
    }
    let mut voxels = decode(&bytes, layout.dtype, layout.big_endian);
    if let Some((slope, inter)) = layout.scaling {
        for v in &mut voxels {
            *v = (f64::from(*v) * slope + inter) as f32;
        }
    }
    Ok((layout, affine, voxels))
}

/// `read_exact` whose error says the stream ended early rather than just "failed to fill".
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<()> {
    input.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => io::Error::new(e.kind(), "file ends early"),
        _ => e,
    })
}

/// Raw voxel bytes to f32. 64-bit integers and doubles lose precision, as they do in every
/// f32 pipeline; values beyond f32 range become infinite and are refused by the caller.
fn decode(bytes: &[u8], dtype: Dtype, big_endian: bool) -> Vec<f32> {
    macro_rules! conv {
        ($t:ty) => {
            bytes
                .chunks_exact(std::mem::size_of::<$t>())
                .map(|c| {
                    let a = c.try_into().unwrap_or_default();
                    (if big_endian {
                        <$t>::from_be_bytes(a)
                    } else {
                        <$t>::from_le_bytes(a)
                    }) as f32
                })
                .collect()
        };
    }
    match dtype {
        Dtype::U8 => conv!(u8),
        Dtype::I8 => conv!(i8),
        Dtype::I16 => conv!(i16),
        Dtype::U16 => conv!(u16),
        Dtype::I32 => conv!(i32),
        Dtype::U32 => conv!(u32),
        Dtype::I64 => conv!(i64),
        Dtype::U64 => conv!(u64),
        Dtype::F32 => conv!(f32),
        Dtype::F64 => conv!(f64),
    }
}
