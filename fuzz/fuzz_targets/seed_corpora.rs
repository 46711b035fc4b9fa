//! Not a fuzz target: writes the seed corpora `corpus/<target>/seed-*` with the crates' own
//! writers (plus a few hand-made and truncated files, and the dicom crate's enhanced-image
//! fixture), then exits before fuzzing anything.
//! `cargo fuzz run seed_corpora` (with `--features model` to include the checkpoint seeds).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtsa_dicom::{write_rtstruct, write_rtstruct_rois, write_series, Roi, SeriesMeta, UidSource};
use mtsa_fuzz::fixtures::{
    tiny_mask, tiny_volume, write_tiny_series, ROI, RTSTRUCT_SEED, SERIES_SEED,
};
use mtsa_fuzz::{gzip, scratch_dir};
use mtsa_io::{write_nifti, Volume};
use std::path::{Path, PathBuf};

/// The RLE encoder the dicom crate's tests use.
#[path = "../../crates/dicom/tests/common/rle.rs"]
mod rle;

fn corpus(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    std::fs::create_dir_all(&dir).expect("create corpus folder");
    dir
}

fn seed(target: &str, name: &str, bytes: &[u8]) {
    std::fs::write(corpus(target).join(format!("seed-{name}")), bytes).expect("write seed");
}

fn nifti_seeds() {
    let dir = scratch_dir("nifti-seeds");
    let vol = tiny_volume();
    let written = |name: &str, write: &dyn Fn(&Path)| {
        let path = dir.join(name);
        write(&path);
        std::fs::read(&path).expect("read back")
    };
    let f32_nii = written("f32.nii", &|p| write_nifti(p, &vol).expect("write"));
    let labels = tiny_mask(&vol);
    let u8_nii = written("u8.nii", &|p| write_nifti(p, &labels).expect("write"));
    let i16_nii = written("i16.nii", &|p| {
        write_nifti(p, &vol.map(|v| (*v as i16) - 100)).expect("write")
    });
    let u16_nii = written("u16.nii", &|p| {
        write_nifti(p, &vol.map(|v| *v as u16)).expect("write")
    });
    seed("nifti", "f32.nii", &f32_nii);
    seed("nifti", "u8-labels.nii", &u8_nii);
    seed("nifti", "i16.nii", &i16_nii);
    seed("nifti", "u16.nii", &u16_nii);
    seed("nifti", "f32.nii.gz", &gzip(&f32_nii));
    seed("nifti", "header-only.nii", &f32_nii[..348]);
    seed("nifti", "truncated.nii", &f32_nii[..400]);
    let mut qform = f32_nii.clone();
    qform[254..256].copy_from_slice(&0i16.to_le_bytes()); // sform_code 0: qform path
    seed("nifti", "qform.nii", &qform);
}

fn dicom_seeds() {
    let dir = scratch_dir("series-seeds");
    let (grid, series) = write_tiny_series(&dir).expect("tiny series");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for (k, f) in files.iter().enumerate() {
        seed(
            "dicom_series",
            &format!("slice{k}.dcm"),
            &std::fs::read(f).expect("read"),
        );
    }
    let first = std::fs::read(&files[0]).expect("read");
    seed("dicom_series", "truncated.dcm", &first[..first.len() / 2]);
    seed("dicom_series", "preamble-only.dcm", &first[..132]);
    // A one-slice 3-D (positive determinant) integer series: the reorientation path.
    let ras = scratch_dir("series-seeds-ras");
    let mut affine = grid.affine;
    affine[0][0] = 0.9;
    let one = Volume::new(
        ndarray::Array3::from_shape_fn((4, 3, 1), |(i, j, _)| (i * 3 + j) as u16),
        affine,
    );
    let meta = SeriesMeta {
        uids: UidSource::Seeded(SERIES_SEED + 1),
        ..SeriesMeta::default()
    };
    write_series(&ras, &one, &meta).expect("ras series");
    for e in std::fs::read_dir(&ras).expect("list") {
        let f = e.expect("entry").path();
        seed(
            "dicom_series",
            "ras-u16.dcm",
            &std::fs::read(f).expect("read"),
        );
    }

    encapsulated_seeds(&files[1]);
    // Files other tools wrote (crates/dicom/fixtures): a multi-frame (enhanced) image as
    // highdicom writes one, the functional-group path; JPEG 2000 from pydicom/OpenJPEG, one
    // slice and multi-frame, the JPEG 2000 decoder; JPEG-LS below.
    seed(
        "dicom_series",
        "enhanced-highdicom.dcm",
        include_bytes!("../../crates/dicom/fixtures/enhanced_mr/oblique_3d.dcm"),
    );
    seed(
        "dicom_series",
        "jpeg2000.dcm",
        include_bytes!("../../crates/dicom/fixtures/transfer_syntaxes/jpeg2000/IM00006.dcm"),
    );
    seed(
        "dicom_series",
        "enhanced-jpeg2000.dcm",
        include_bytes!(
            "../../crates/dicom/fixtures/transfer_syntaxes/enhanced_jpeg2000/oblique_3d.dcm"
        ),
    );
    // HTJ2K from OpenJPH (the JPEG 2000 decoder's high-throughput block coder).
    seed(
        "dicom_series",
        "htj2k.dcm",
        include_bytes!("../../crates/dicom/fixtures/transfer_syntaxes/htj2k/IM00006.dcm"),
    );
    // JPEG-LS from DCMTK's dcmcjpls, lossless and near-lossless: CharLS, in a `--features
    // jpeg-ls` build (a default build refuses them before decoding).
    seed(
        "dicom_series",
        "jpeg-ls.dcm",
        include_bytes!("../../crates/dicom/fixtures/transfer_syntaxes/jpeg_ls/IM00006.dcm"),
    );
    seed(
        "dicom_series",
        "jpeg-ls-near.dcm",
        include_bytes!("../../crates/dicom/fixtures/transfer_syntaxes/jpeg_ls_near/IM00006.dcm"),
    );

    let rt = scratch_dir("rtstruct-seeds");
    let structure_set = |name: &str, mask: &Volume<u8>, roi: &str| {
        let path = rt.join(name);
        write_rtstruct(&path, mask, &series, roi, UidSource::Seeded(RTSTRUCT_SEED)).expect("rt");
        let bytes = std::fs::read(&path).expect("read");
        seed("rtstruct", name, &bytes);
        bytes
    };
    let mask = tiny_mask(&grid);
    let full = structure_set("lesion.dcm", &mask, ROI);
    structure_set("empty.dcm", &mask.map(|_| 0), ROI);
    structure_set("other-roi.dcm", &mask, "Brain");
    seed("rtstruct", "truncated.dcm", &full[..full.len() * 2 / 3]);
    // Several ROIs, as `predict --lesion-rois` writes: the GTV, then two lesions of it.
    let path = rt.join("rois.dcm");
    let empty = mask.map(|_| 0);
    let rois = [
        Roi {
            name: ROI,
            mask: &mask,
        },
        Roi {
            name: "GTV_mtsa_1",
            mask: &mask,
        },
        Roi {
            name: "GTV_mtsa_2",
            mask: &empty,
        },
    ];
    write_rtstruct_rois(&path, &rois, &series, UidSource::Seeded(RTSTRUCT_SEED)).expect("rois");
    seed("rtstruct", "rois.dcm", &std::fs::read(&path).expect("read"));

    // Segmentations of the same series: ours (every frame, BINARY), an empty one, one with a
    // lesion segment after the GTV (`predict --seg --lesion-rois`), a truncated one, and
    // highdicom's FRACTIONAL fixture (another series: refused, but its frames parse).
    let seg = |name: &str, segments: &[Roi]| {
        let path = rt.join(name);
        let algorithm = mtsa_dicom::SegAlgorithm {
            name: "seed".into(),
            version: "1".into(),
        };
        mtsa_dicom::write_seg_segments(
            &path,
            segments,
            &series,
            &algorithm,
            UidSource::Seeded(RTSTRUCT_SEED),
        )
        .expect("seg");
        let bytes = std::fs::read(&path).expect("read");
        seed("seg", name, &bytes);
        bytes
    };
    let gtv = |mask| Roi { name: "GTV", mask };
    let full_seg = seg("lesion.dcm", &[gtv(&mask)]);
    seg("empty.dcm", &[gtv(&empty)]);
    seg(
        "segments.dcm",
        &[
            gtv(&mask),
            Roi {
                name: "GTV_1",
                mask: &mask,
            },
        ],
    );
    seed("seg", "truncated.dcm", &full_seg[..full_seg.len() * 2 / 3]);
    seed(
        "seg",
        "highdicom-fractional.dcm",
        include_bytes!("../../crates/dicom/fixtures/seg/fractional.dcm"),
    );
    // Its JPEG-LS copy: CharLS in a `--features jpeg-ls` build.
    seed(
        "seg",
        "highdicom-fractional-jpeg-ls.dcm",
        include_bytes!("../../crates/dicom/fixtures/seg/fractional_jpeg_ls.dcm"),
    );
}

/// A slice of the tiny series re-encoded as RLE Lossless and as JPEG baseline (8-bit), so the
/// fuzzer starts with the compressed pixel paths too.
fn encapsulated_seeds(slice: &Path) {
    use dicom_core::value::PixelFragmentSequence;
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    use dicom_object::meta::FileMetaTableBuilder;
    use dicom_pixeldata::Transcode;

    let dir = scratch_dir("encapsulated-seeds");
    let words = |obj: &dicom_object::DefaultDicomObject| -> Vec<u16> {
        obj.element(tags::PIXEL_DATA)
            .expect("pixels")
            .value()
            .to_bytes()
            .expect("bytes")
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect()
    };

    let obj = dicom_object::open_file(slice).expect("open");
    let pixels = words(&obj);
    let mut inner = obj.into_inner();
    inner.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PixelFragmentSequence::new(Vec::<u32>::new(), vec![rle::rle_encode_u16(&pixels)]),
    ));
    let rle = dir.join("rle.dcm");
    inner
        .with_meta(FileMetaTableBuilder::new().transfer_syntax("1.2.840.10008.1.2.5"))
        .expect("meta")
        .write_to_file(&rle)
        .expect("write");
    seed(
        "dicom_series",
        "rle.dcm",
        &std::fs::read(&rle).expect("read"),
    );

    let mut obj = dicom_object::open_file(slice).expect("open");
    let bytes: Vec<u8> = words(&obj).iter().map(|w| (w >> 8) as u8).collect();
    for (tag, v) in [
        (tags::BITS_ALLOCATED, 8u16),
        (tags::BITS_STORED, 8),
        (tags::HIGH_BIT, 7),
    ] {
        obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
    }
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::from(bytes),
    ));
    obj.transcode(&dicom_transfer_syntax_registry::entries::JPEG_BASELINE.erased())
        .expect("transcode");
    let jpeg = dir.join("jpeg.dcm");
    obj.write_to_file(&jpeg).expect("write");
    seed(
        "dicom_series",
        "jpeg-baseline.dcm",
        &std::fs::read(&jpeg).expect("read"),
    );
}

fn clinical_seeds() {
    let tables: [(&str, &str); 7] = [
        (
            "synth.csv",
            "patient_id,egfr,diagnosis_date,site,age,sex,smoking\n\
             p01,mutant,2020-03-04,internal,61,F,never\n\
             p02,wild,2021-07-30,internal,70,M,former\n\
             ext-1,,2019-11-02,Other Site,55,F,current\n",
        ),
        (
            "variants.csv",
            "\u{feff}Patient_ID , EGFR,Diagnosis_Date,Site\n\
             \"a,1\",1,2021/05/01,\n b ,WT,20210501, s \n c,0,,\n",
        ),
        ("ids-only.csv", "patient_id\np1\np2\n"),
        ("no-id-column.csv", "egfr,site\n1,a\n"),
        ("bad-date.csv", "patient_id,diagnosis_date\np1,2021-13-01\n"),
        ("ragged.csv", "patient_id,egfr\np1,1,extra\n"),
        ("duplicate.csv", "patient_id,egfr\np1,1\np1,0\n"),
    ];
    for (name, text) in tables {
        seed("clinical", name, text.as_bytes());
    }
    seed("clinical", "latin1.csv", b"patient_id,site\np1,Z\xfcrich\n");
}

fn splits_seeds() {
    let files: [(&str, &str); 6] = [
        (
            "valid.json",
            r#"{"train": ["p01", "p02"], "val": ["p03"], "test": ["p04"], "external-x": ["ext-1"]}"#,
        ),
        ("empty-object.json", "{}"),
        (
            "unknown-id.json",
            r#"{"train": ["p01", "p02", "p03", "p04", "ext-1", "p99"]}"#,
        ),
        ("twice.json", r#"{"train": ["p01"], "test": ["p01"]}"#),
        ("bad-name.json", r#"{"../train": ["p01"]}"#),
        ("not-lists.json", r#"{"train": "p01", "val": [1, 2]}"#),
    ];
    for (name, text) in files {
        seed("splits", name, text.as_bytes());
    }
}

#[cfg(feature = "model")]
fn checkpoint_seeds() {
    use mtsa_model::{write_tensors, MtsaConfig, CONFIG_KEY};
    use std::collections::HashMap;
    use tch::Tensor;

    let dir = scratch_dir("checkpoint-seeds");
    let cfg = serde_json::to_string(&MtsaConfig::preset("tiny").expect("preset")).expect("json");
    let meta = HashMap::from([(CONFIG_KEY.to_string(), cfg)]);
    let written = |name: &str, tensors: Vec<(String, Tensor)>, meta: HashMap<String, String>| {
        let path = dir.join(name);
        write_tensors(&path, &tensors, meta).expect("write checkpoint");
        let bytes = std::fs::read(&path).expect("read");
        seed("checkpoint", name, &bytes);
        bytes
    };
    let small = || {
        vec![
            (
                "net.encoder.level0.stem.conv.weight".to_string(),
                Tensor::from_slice(&[0.5f32, -1.0, 2.0, 0.0, 1.5, -0.25]).reshape([2, 3]),
            ),
            (
                "loss.log_sigma_gtv".to_string(),
                Tensor::from_slice(&[0.1f32]),
            ),
        ]
    };
    let ok = written("tiny.safetensors", small(), meta.clone());
    written("no-config.safetensors", small(), HashMap::new());
    written(
        "nan.safetensors",
        vec![("w".to_string(), Tensor::from_slice(&[1.0f32, f32::NAN]))],
        meta.clone(),
    );
    written("no-tensors.safetensors", Vec::new(), meta);
    seed("checkpoint", "truncated.safetensors", &ok[..ok.len() - 5]);
    seed("checkpoint", "length-only.safetensors", &ok[..8]);
}

#[cfg(not(feature = "model"))]
fn checkpoint_seeds() {
    eprintln!("checkpoint seeds need --features model; skipped");
}

/// Writes every seed, then exits: the process never gets to fuzz (an ordinary function rather
/// than code after `exit` in the macro's init block, which would be unreachable).
fn write_seeds_and_exit() {
    nifti_seeds();
    dicom_seeds();
    clinical_seeds();
    splits_seeds();
    checkpoint_seeds();
    eprintln!("seeds written under {}/corpus", env!("CARGO_MANIFEST_DIR"));
    std::process::exit(0);
}

fuzz_target!(init: write_seeds_and_exit(), |_data: &[u8]| {});
