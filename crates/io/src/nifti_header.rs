//! Validation of a NIfTI-1 header before any voxel is read: every size, type and geometry field
//! a hostile or corrupt file can set is checked here, so the reader allocates only what a sane
//! header promises and the `nifti` crate's panicking paths (raw-size `expect`, qform SVD) are
//! never reached with user data.

use crate::{affine_problem, spacing_problem, Affine, MAX_VOLUME_BYTES};
use nifti::NiftiHeader;

/// Extensions between the header and the voxels beyond this are taken as a corrupt vox_offset.
const MAX_EXTENSION_BYTES: f32 = (1 << 24) as f32;

/// nibabel's tolerance on b² + c² + d² exceeding 1 (three float32 epsilons).
const QUATERNION_TOLERANCE: f64 = 3.0 * f32::EPSILON as f64;

/// Voxel storage types we read; complex, RGB, bit and 128-bit types are refused by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dtype {
    U8,
    I8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

impl Dtype {
    fn from_code(code: i16) -> Result<Self, String> {
        Ok(match code {
            2 => Self::U8,
            4 => Self::I16,
            8 => Self::I32,
            16 => Self::F32,
            64 => Self::F64,
            256 => Self::I8,
            512 => Self::U16,
            768 => Self::U32,
            1024 => Self::I64,
            1280 => Self::U64,
            1 => return Err("datatype 1 (binary) is not supported".into()),
            32 | 1792 | 2048 => return Err(format!("datatype {code} (complex) is not supported")),
            128 | 2304 => return Err(format!("datatype {code} (RGB) is not supported")),
            1536 => return Err("datatype 1536 (float128) is not supported".into()),
            _ => return Err(format!("datatype {code} is not a NIfTI-1 type")),
        })
    }

    pub fn bytes(self) -> usize {
        match self {
            Self::U8 | Self::I8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::I64 | Self::U64 | Self::F64 => 8,
        }
    }
}

/// What the header says about the voxel data, once checked.
#[derive(Debug)]
pub(crate) struct Layout {
    pub shape: [usize; 3],
    pub dtype: Dtype,
    pub big_endian: bool,
    /// Bytes from the start of the file to the first voxel.
    pub data_offset: u64,
    pub data_bytes: u64,
    /// `(slope, intercept)` to apply, or `None` when scl_slope is 0 (no scaling, per the spec).
    pub scaling: Option<(f64, f64)>,
}

/// Checks the header of a single-file (`n+1`) NIfTI-1 volume with one time point.
pub(crate) fn check_header(h: &NiftiHeader) -> Result<Layout, String> {
    if h.sizeof_hdr != 348 {
        return Err(format!("sizeof_hdr is {}, not 348", h.sizeof_hdr));
    }
    if &h.magic == b"ni1\0" {
        return Err("two-file NIfTI (.hdr/.img) is not supported; convert it to .nii".into());
    }
    if &h.magic != b"n+1\0" {
        return Err(format!("bad magic {:?}", h.magic));
    }
    // The crate stores dims as u16; NIfTI-1 defines them as signed 16-bit.
    let dim: [i16; 8] = std::array::from_fn(|i| h.dim[i] as i16);
    if !(3..=7).contains(&dim[0]) {
        return Err(format!("dim[0] is {}, a 3-D volume needs 3 to 7", dim[0]));
    }
    for (i, d) in dim.iter().enumerate().take(dim[0] as usize + 1).skip(1) {
        if *d < 1 {
            return Err(format!("dim[{i}] is {d}, not a positive size"));
        }
        if i > 3 && *d != 1 {
            return Err(format!("dim[{i}] is {d}: expected a 3-D volume"));
        }
    }
    let dtype = Dtype::from_code(h.datatype)?;
    if i64::from(h.bitpix) != 8 * dtype.bytes() as i64 {
        return Err(format!(
            "bitpix {} does not match datatype {} ({} bits)",
            h.bitpix,
            h.datatype,
            8 * dtype.bytes()
        ));
    }
    let shape = [dim[1] as usize, dim[2] as usize, dim[3] as usize];
    let voxels = shape.iter().map(|d| *d as u64).product::<u64>();
    let data_bytes = voxels * dtype.bytes() as u64;
    if data_bytes.max(voxels * 4) > MAX_VOLUME_BYTES {
        return Err(format!(
            "header declares {}x{}x{} voxels of {} bytes, more than the {MAX_VOLUME_BYTES}-byte \
             limit",
            shape[0],
            shape[1],
            shape[2],
            dtype.bytes()
        ));
    }
    let off = h.vox_offset;
    if !((352.0..=MAX_EXTENSION_BYTES).contains(&off) && off.fract() == 0.0) {
        return Err(format!(
            "vox_offset {off} is not a whole byte offset in [352, {MAX_EXTENSION_BYTES}]"
        ));
    }
    for (i, p) in h.pixdim.iter().enumerate().take(4).skip(1) {
        if let Some(problem) = spacing_problem(f64::from(*p)) {
            return Err(format!("pixdim[{i}]: {problem}"));
        }
    }
    let (slope, inter) = (f64::from(h.scl_slope), f64::from(h.scl_inter));
    let scaling = match (slope, inter) {
        (0.0, _) => None,
        (s, i) if s.is_finite() && i.is_finite() => Some((s, i)),
        _ => return Err(format!("scl_slope {slope} / scl_inter {inter} not finite")),
    };
    Ok(Layout {
        shape,
        dtype,
        big_endian: h.endianness == nifti::Endianness::Big,
        data_offset: off as u64,
        data_bytes,
        scaling,
    })
}

/// sform when its code is set, else qform, else the pixdim diagonal: the order NIfTI readers
/// (nibabel, ITK) agree on. The result is checked with [`affine_problem`].
pub(crate) fn affine_of(h: &NiftiHeader) -> Result<Affine, String> {
    let pixdim = |i: usize| f64::from(h.pixdim[i]);
    let affine = if h.sform_code > 0 {
        let rows = [h.srow_x, h.srow_y, h.srow_z];
        let mut a = [[0.0; 4]; 4];
        for r in 0..3 {
            for c in 0..4 {
                a[r][c] = f64::from(rows[r][c]);
            }
        }
        a[3][3] = 1.0;
        a
    } else if h.qform_code > 0 {
        qform_affine(h)?
    } else {
        crate::diagonal_affine([pixdim(1), pixdim(2), pixdim(3)], [0.0; 3])
    };
    match affine_problem(&affine) {
        Some(p) => Err(format!("header {p}")),
        None => Ok(affine),
    }
}

/// The qform rotation from its quaternion (b, c, d; a is implied), refusing unnormalised ones
/// as nibabel does: silently clamping a would give a rotation the writer never meant.
fn qform_affine(h: &NiftiHeader) -> Result<Affine, String> {
    let (b, c, d) = (
        f64::from(h.quatern_b),
        f64::from(h.quatern_c),
        f64::from(h.quatern_d),
    );
    let norm2 = b * b + c * c + d * d;
    // Written so that NaN fails too.
    if norm2.is_nan() || norm2 > 1.0 + QUATERNION_TOLERANCE {
        return Err(format!(
            "qform quaternion (b, c, d) = ({b}, {c}, {d}) has b²+c²+d² = {norm2} > 1"
        ));
    }
    let a = (1.0 - norm2).max(0.0).sqrt();
    let r = [
        [
            a * a + b * b - c * c - d * d,
            2.0 * (b * c - a * d),
            2.0 * (b * d + a * c),
        ],
        [
            2.0 * (b * c + a * d),
            a * a + c * c - b * b - d * d,
            2.0 * (c * d - a * b),
        ],
        [
            2.0 * (b * d - a * c),
            2.0 * (c * d + a * b),
            a * a + d * d - c * c - b * b,
        ],
    ];
    let qfac = if h.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
    let s = [
        f64::from(h.pixdim[1]),
        f64::from(h.pixdim[2]),
        f64::from(h.pixdim[3]) * qfac,
    ];
    let t = [h.quatern_x, h.quatern_y, h.quatern_z].map(f64::from);
    let mut m = [[0.0; 4]; 4];
    for row in 0..3 {
        for col in 0..3 {
            m[row][col] = r[row][col] * s[col];
        }
        m[row][3] = t[row];
    }
    m[3][3] = 1.0;
    Ok(m)
}
