//! Malformed NIfTI input must give an `Err` naming the file, never a panic, an abort or an
//! allocation larger than the header's checked promise. Each case starts from a valid file
//! written by `write_nifti` and breaks one thing, so the table reads as the list of defects.

use flate2::write::GzEncoder;
use flate2::Compression;
use mtsa_io::{diagonal_affine, read_nifti, write_nifti, Volume};
use ndarray::Array3;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// Where a mutation applies: the plain file (written as `.nii`), the plain file then gzipped
/// (`.nii.gz`), or the gzipped bytes (`.nii.gz`, to break the compressed stream itself).
#[derive(Clone, Copy)]
enum Stage {
    Plain,
    ThenGzip,
    Gzipped,
}
use Stage::*;

type Mutation = fn(&mut Vec<u8>);

fn put_i16(b: &mut [u8], at: usize, v: i16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_i32(b: &mut [u8], at: usize, v: i32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_f32(b: &mut [u8], at: usize, v: f32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

// NIfTI-1 header offsets.
const DIM: usize = 40;
const DATATYPE: usize = 70;
const BITPIX: usize = 72;
const PIXDIM: usize = 76;
const VOX_OFFSET: usize = 108;
const SCL_SLOPE: usize = 112;
const SCL_INTER: usize = 116;
const QFORM_CODE: usize = 252;
const SFORM_CODE: usize = 254;
const QUATERN_B: usize = 256;
const QOFFSET_X: usize = 268;
const SROW_X: usize = 280;
const SROW_Y: usize = 296;
const MAGIC: usize = 344;

fn dim(b: &mut [u8], i: usize, v: i16) {
    put_i16(b, DIM + 2 * i, v);
}
fn pixdim(b: &mut [u8], i: usize, v: f32) {
    put_f32(b, PIXDIM + 4 * i, v);
}
fn dtype(b: &mut [u8], code: i16, bits: i16) {
    put_i16(b, DATATYPE, code);
    put_i16(b, BITPIX, bits);
}
/// Use the qform (the writer sets both) so quaternion fields matter.
fn qform_only(b: &mut [u8]) {
    put_i16(b, SFORM_CODE, 0);
    put_i16(b, QFORM_CODE, 1);
}
fn quaternion(b: &mut [u8], q: [f32; 3]) {
    qform_only(b);
    for (n, v) in q.iter().enumerate() {
        put_f32(b, QUATERN_B + 4 * n, *v);
    }
}
fn srow(b: &mut [u8], at: usize, row: [f32; 4]) {
    for (n, v) in row.iter().enumerate() {
        put_f32(b, at + 4 * n, *v);
    }
}
fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}
fn flip_byte(b: &mut [u8], from_end: usize) {
    let n = b.len() - from_end;
    b[n] ^= 0x5a;
}

/// Every malformed file this reader must refuse: (name, stage, mutation).
const CASES: &[(&str, Stage, Mutation)] = &[
    // Size and magic.
    ("empty file", Plain, |b| b.clear()),
    ("100 bytes", Plain, |b| b.truncate(100)),
    ("header only", Plain, |b| b.truncate(348)),
    ("header cut at 347", Plain, |b| b.truncate(347)),
    ("text file", Plain, |b| {
        *b = b"hello, not an image\n".to_vec()
    }),
    ("sizeof_hdr 0", Plain, |b| put_i32(b, 0, 0)),
    ("sizeof_hdr 540 (NIfTI-2)", Plain, |b| put_i32(b, 0, 540)),
    ("bad magic", Plain, |b| {
        b[MAGIC..MAGIC + 4].copy_from_slice(b"xyz\0")
    }),
    ("two-file magic", Plain, |b| {
        b[MAGIC..MAGIC + 4].copy_from_slice(b"ni1\0")
    }),
    ("empty magic", Plain, |b| b[MAGIC..MAGIC + 4].fill(0)),
    // Dimensions.
    ("dim[0] 0", Plain, |b| dim(b, 0, 0)),
    ("dim[0] 2", Plain, |b| dim(b, 0, 2)),
    ("dim[0] 8", Plain, |b| dim(b, 0, 8)),
    ("dim[0] -3", Plain, |b| dim(b, 0, -3)),
    ("dim[1] 0", Plain, |b| dim(b, 1, 0)),
    ("dim[2] -1", Plain, |b| dim(b, 2, -1)),
    ("dim[3] -32768", Plain, |b| dim(b, 3, i16::MIN)),
    ("4-D with 2 volumes", Plain, |b| {
        dim(b, 0, 4);
        dim(b, 4, 2)
    }),
    ("5-D with 3 components", Plain, |b| {
        dim(b, 0, 5);
        dim(b, 4, 1);
        dim(b, 5, 3)
    }),
    ("dim[4] 0 in a 4-D file", Plain, |b| {
        dim(b, 0, 4);
        dim(b, 4, 0)
    }),
    ("32767^3 voxels", Plain, |b| {
        (1..4).for_each(|i| dim(b, i, i16::MAX))
    }),
    ("1024^3 float32 (4 GiB)", ThenGzip, |b| {
        (1..4).for_each(|i| dim(b, i, 1024))
    }),
    ("1024^3 uint8 (4 GiB as f32)", ThenGzip, |b| {
        (1..4).for_each(|i| dim(b, i, 1024));
        dtype(b, 2, 8)
    }),
    ("one dim grown by one", Plain, |b| dim(b, 3, 7)),
    ("200^3 declared, 480 bytes held", ThenGzip, |b| {
        (1..4).for_each(|i| dim(b, i, 200))
    }),
    // Data types.
    ("datatype 0", Plain, |b| dtype(b, 0, 32)),
    ("binary", Plain, |b| dtype(b, 1, 1)),
    ("complex64", Plain, |b| dtype(b, 32, 64)),
    ("complex128", Plain, |b| dtype(b, 1792, 128)),
    ("RGB24", Plain, |b| dtype(b, 128, 24)),
    ("RGBA32", Plain, |b| dtype(b, 2304, 32)),
    ("float128", Plain, |b| dtype(b, 1536, 128)),
    ("datatype 9999", Plain, |b| dtype(b, 9999, 32)),
    ("datatype -16", Plain, |b| dtype(b, -16, 32)),
    ("float32 with bitpix 16", Plain, |b| put_i16(b, BITPIX, 16)),
    ("float32 with bitpix 0", Plain, |b| put_i16(b, BITPIX, 0)),
    ("float32 with bitpix -32", Plain, |b| {
        put_i16(b, BITPIX, -32)
    }),
    ("float32 with bitpix 64", Plain, |b| put_i16(b, BITPIX, 64)),
    ("int16 with bitpix 8", Plain, |b| dtype(b, 4, 8)),
    ("uint8 with bitpix 32", Plain, |b| dtype(b, 2, 32)),
    ("float64 data missing", Plain, |b| dtype(b, 64, 64)),
    ("int64 data missing", Plain, |b| dtype(b, 1024, 64)),
    // vox_offset.
    ("vox_offset 0", Plain, |b| put_f32(b, VOX_OFFSET, 0.0)),
    ("vox_offset 100", Plain, |b| put_f32(b, VOX_OFFSET, 100.0)),
    ("vox_offset 348", Plain, |b| put_f32(b, VOX_OFFSET, 348.0)),
    ("vox_offset -352", Plain, |b| put_f32(b, VOX_OFFSET, -352.0)),
    ("vox_offset NaN", Plain, |b| {
        put_f32(b, VOX_OFFSET, f32::NAN)
    }),
    ("vox_offset inf", Plain, |b| {
        put_f32(b, VOX_OFFSET, f32::INFINITY)
    }),
    ("vox_offset 352.5", Plain, |b| put_f32(b, VOX_OFFSET, 352.5)),
    ("vox_offset 1e30", Plain, |b| put_f32(b, VOX_OFFSET, 1e30)),
    ("vox_offset past the end", Plain, |b| {
        put_f32(b, VOX_OFFSET, 100_000.0)
    }),
    ("vox_offset past the end, gz", ThenGzip, |b| {
        put_f32(b, VOX_OFFSET, 100_000.0)
    }),
    // Spacing.
    ("pixdim[1] NaN", Plain, |b| pixdim(b, 1, f32::NAN)),
    ("pixdim[2] inf", Plain, |b| pixdim(b, 2, f32::INFINITY)),
    ("pixdim[3] -inf", Plain, |b| pixdim(b, 3, f32::NEG_INFINITY)),
    ("pixdim[3] 0", Plain, |b| pixdim(b, 3, 0.0)),
    ("pixdim[1] negative", Plain, |b| pixdim(b, 1, -1.0)),
    ("pixdim[2] 1e-6", Plain, |b| pixdim(b, 2, 1e-6)),
    ("pixdim[1] 1e-300 (0 in f32)", Plain, |b| {
        pixdim(b, 1, 1e-300_f64 as f32)
    }),
    ("pixdim[2] 1e6", Plain, |b| pixdim(b, 2, 1e6)),
    ("pixdim[3] f32::MAX", Plain, |b| pixdim(b, 3, f32::MAX)),
    // qform.
    ("quaternion norm 1.92", Plain, |b| {
        quaternion(b, [0.8, 0.8, 0.8])
    }),
    ("quaternion b 1.01", Plain, |b| {
        quaternion(b, [1.01, 0.0, 0.0])
    }),
    ("quaternion NaN", Plain, |b| {
        quaternion(b, [f32::NAN, 0.0, 0.0])
    }),
    ("quaternion inf", Plain, |b| {
        quaternion(b, [0.0, f32::INFINITY, 0.0])
    }),
    ("qoffset inf", Plain, |b| {
        qform_only(b);
        put_f32(b, QOFFSET_X, f32::INFINITY)
    }),
    ("qoffset NaN", Plain, |b| {
        qform_only(b);
        put_f32(b, QOFFSET_X + 8, f32::NAN)
    }),
    ("qoffset 1e30", Plain, |b| {
        qform_only(b);
        put_f32(b, QOFFSET_X + 4, 1e30)
    }),
    ("qform pixdim NaN", Plain, |b| {
        qform_only(b);
        pixdim(b, 1, f32::NAN)
    }),
    // sform.
    ("srow_x NaN", Plain, |b| put_f32(b, SROW_X, f32::NAN)),
    ("srow_x inf", Plain, |b| {
        put_f32(b, SROW_X + 4, f32::INFINITY)
    }),
    ("srow origin 1e20", Plain, |b| put_f32(b, SROW_X + 12, 1e20)),
    ("srow all zero", Plain, |b| {
        srow(b, SROW_X, [0.0; 4]);
        srow(b, SROW_Y, [0.0; 4]);
        srow(b, SROW_Y + 16, [0.0; 4])
    }),
    ("srow parallel axes", Plain, |b| {
        srow(b, SROW_X, [1.0, 1.0, 0.0, 0.0]);
        srow(b, SROW_Y, [1.0, 1.0, 0.0, 0.0]);
    }),
    ("srow spacing 1e-5", Plain, |b| {
        srow(b, SROW_X, [1e-5, 0.0, 0.0, 0.0]);
    }),
    ("srow spacing 1e4", Plain, |b| {
        srow(b, SROW_Y, [0.0, 1e4, 0.0, 0.0]);
    }),
    ("no xform, pixdim 0", Plain, |b| {
        put_i16(b, SFORM_CODE, 0);
        put_i16(b, QFORM_CODE, 0);
        pixdim(b, 1, 0.0)
    }),
    // Scaling and voxel values.
    ("scl_slope NaN", Plain, |b| put_f32(b, SCL_SLOPE, f32::NAN)),
    ("scl_slope inf", Plain, |b| {
        put_f32(b, SCL_SLOPE, f32::INFINITY)
    }),
    ("scl_inter NaN", Plain, |b| {
        put_f32(b, SCL_SLOPE, 1.0);
        put_f32(b, SCL_INTER, f32::NAN)
    }),
    ("scl_slope overflows f32", Plain, |b| {
        put_f32(b, SCL_SLOPE, 3e38)
    }),
    ("NaN voxel", Plain, |b| put_f32(b, 352 + 4 * 7, f32::NAN)),
    ("inf voxel", Plain, |b| put_f32(b, 352, f32::INFINITY)),
    // Truncation and trailing data.
    ("truncated mid-data", Plain, |b| b.truncate(352 + 200)),
    ("truncated by one byte", Plain, |b| {
        b.pop();
    }),
    ("2 MiB of trailing bytes", Plain, |b| {
        b.extend(std::iter::repeat_n(0u8, 2 << 20))
    }),
    ("gz bomb after the voxels", ThenGzip, |b| {
        b.extend(std::iter::repeat_n(0u8, 16 << 20))
    }),
    // The compressed stream.
    ("gz magic only", Gzipped, |b| b.truncate(2)),
    ("gz cut in the gzip header", Gzipped, |b| b.truncate(6)),
    ("gz cut in half", Gzipped, |b| b.truncate(b.len() / 2)),
    ("gz length trailer missing", Gzipped, |b| {
        b.truncate(b.len() - 4)
    }),
    ("gz whole trailer missing", Gzipped, |b| {
        b.truncate(b.len() - 8)
    }),
    ("gz CRC wrong", Gzipped, |b| flip_byte(b, 8)),
    ("gz length wrong", Gzipped, |b| flip_byte(b, 1)),
    ("gz trailing garbage", Gzipped, |b| {
        b.extend_from_slice(b"garbage!garbage!")
    }),
    ("gz trailing zeros", Gzipped, |b| {
        b.extend_from_slice(&[0; 64])
    }),
    ("gz deflate byte flipped", Gzipped, |b| flip_byte(b, 30)),
    ("gz method byte wrong", Gzipped, |b| b[2] = 7),
    ("gz reserved flags", Gzipped, |b| b[3] = 0xe0),
    ("gz of garbage", Gzipped, |b| *b = gzip(&[0xab; 600])),
    ("gz of empty", Gzipped, |b| *b = gzip(&[])),
];

fn valid_nifti(dir: &Path) -> Vec<u8> {
    let data = Array3::from_shape_fn((4, 5, 6), |(i, j, k)| (1 + i + 10 * j + 100 * k) as f32);
    let path = dir.join("valid.nii");
    write_nifti(
        &path,
        &Volume::new(data, diagonal_affine([0.9, 0.9, 3.0], [1.0; 3])),
    )
    .expect("write valid");
    std::fs::read(&path).expect("read valid")
}

#[test]
fn malformed_nifti_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let valid = valid_nifti(dir.path());
    assert_eq!(valid.len(), 352 + 4 * 5 * 6 * 4, "writer layout changed");
    let mut failures = Vec::new();
    for (n, (name, stage, mutate)) in CASES.iter().enumerate() {
        let mut bytes = valid.clone();
        if matches!(stage, Gzipped) {
            bytes = gzip(&bytes);
        }
        mutate(&mut bytes);
        if matches!(stage, ThenGzip) {
            bytes = gzip(&bytes);
        }
        let file = match stage {
            Plain => format!("case{n:03}.nii"),
            _ => format!("case{n:03}.nii.gz"),
        };
        let path = dir.path().join(&file);
        std::fs::write(&path, &bytes).expect("write case");
        match catch_unwind(AssertUnwindSafe(|| read_nifti(&path))) {
            Err(_) => failures.push(format!("{name}: panicked")),
            Ok(Ok(_)) => failures.push(format!("{name}: accepted")),
            Ok(Err(e)) if !e.to_string().contains(&file) => {
                failures.push(format!("{name}: message does not name the file: {e}"))
            }
            Ok(Err(_)) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("{} malformed NIfTI cases refused", CASES.len());
}

#[test]
fn specific_defects_give_the_reason() {
    let dir = tempfile::tempdir().expect("tmp");
    let valid = valid_nifti(dir.path());
    let reason = |name: &str, stage: Stage, f: Mutation| {
        let mut b = valid.clone();
        if matches!(stage, Gzipped) {
            b = gzip(&b);
        }
        f(&mut b);
        if matches!(stage, ThenGzip) {
            b = gzip(&b);
        }
        let path = dir.path().join(name);
        std::fs::write(&path, &b).expect("write");
        read_nifti(&path).expect_err(name).to_string()
    };
    let cases: [(&str, Stage, Mutation, &str); 9] = [
        (
            "bomb.nii.gz",
            ThenGzip,
            |b| (1..4).for_each(|i| dim(b, i, 1024)),
            "limit",
        ),
        ("cplx.nii", Plain, |b| dtype(b, 32, 64), "complex"),
        ("rgb.nii", Plain, |b| dtype(b, 128, 24), "RGB"),
        ("bits.nii", Plain, |b| put_i16(b, BITPIX, 16), "bitpix 16"),
        (
            "quat.nii",
            Plain,
            |b| quaternion(b, [0.8, 0.8, 0.8]),
            "quaternion",
        ),
        ("pix.nii", Plain, |b| pixdim(b, 1, f32::NAN), "pixdim[1]"),
        (
            "crc.nii.gz",
            Gzipped,
            |b| flip_byte(b, 8),
            "end of the stream",
        ),
        (
            "tail.nii.gz",
            Gzipped,
            |b| b.extend_from_slice(b"junk"),
            "end of the stream",
        ),
        ("short.nii", Plain, |b| b.truncate(400), "truncated"),
    ];
    for (name, stage, f, expect) in cases {
        let msg = reason(name, stage, f);
        assert!(msg.contains(name) && msg.contains(expect), "{name}: {msg}");
    }
}

#[test]
fn unwritable_affines_are_errors_not_panics() {
    let dir = tempfile::tempdir().expect("tmp");
    let base = diagonal_affine([1.0, 1.0, 1.0], [0.0; 3]);
    let mut cases: Vec<(&str, [[f64; 4]; 4])> = Vec::new();
    let mut with = |name, r: usize, c: usize, v: f64| {
        let mut a = base;
        a[r][c] = v;
        cases.push((name, a));
    };
    with("spacing 1e-300", 0, 0, 1e-300);
    with("spacing 0", 1, 1, 0.0);
    with("spacing NaN", 2, 2, f64::NAN);
    with("spacing inf", 0, 0, f64::INFINITY);
    with("spacing 1e300", 1, 1, 1e300);
    with("origin 1e300", 0, 3, 1e300);
    with("origin NaN", 2, 3, f64::NAN);
    with("parallel axes", 0, 1, 1.0);
    cases.last_mut().expect("case").1[1][1] = 0.0;
    for (n, (name, affine)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("out{n}.nii.gz"));
        let vol = Volume::new(Array3::<f32>::zeros((3, 3, 3)), affine);
        let e = catch_unwind(AssertUnwindSafe(|| write_nifti(&path, &vol)))
            .unwrap_or_else(|_| panic!("{name}: panicked"))
            .expect_err(name)
            .to_string();
        assert!(
            e.contains(&format!("out{n}.nii.gz")) && !e.contains(".tmp-"),
            "{name}: {e}"
        );
        assert!(!path.exists(), "{name}: file left behind");
    }
}

#[test]
fn valid_variants_still_read() {
    let dir = tempfile::tempdir().expect("tmp");
    let valid = valid_nifti(dir.path());
    let expected = read_nifti(&dir.path().join("valid.nii")).expect("valid");
    let variants: [(&str, Mutation); 4] = [
        ("gz.nii.gz", |b| *b = gzip(b)),
        ("pad.nii", |b| b.extend_from_slice(&[0; 16])),
        ("4d.nii", |b| {
            dim(b, 0, 4);
            dim(b, 4, 1)
        }),
        ("multimember.nii.gz", |b| {
            let (head, tail) = b.split_at(500);
            *b = [gzip(head), gzip(tail)].concat()
        }),
    ];
    for (name, f) in variants {
        let mut b = valid.clone();
        f(&mut b);
        let path = dir.path().join(name);
        std::fs::write(&path, &b).expect("write");
        let back = read_nifti(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back, expected, "{name}");
    }
}
