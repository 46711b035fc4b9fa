//! The pixels of a series' files: decoded once per file, every frame asked for taken out and
//! rescaled to the modality's values.

use super::encapsulated::check_encapsulated;
use super::header::{in_frame, FrameSource, SliceHeader};
use crate::dataset::{opt_f64, Obj};
use crate::DicomError;
use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_pixeldata::{ConvertOptions, ModalityLutOption, PixelDecoder};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use std::path::Path;

/// Decoded, rescaled pixels of the slices `headers` (one image, or frames of one multi-frame
/// image, all in the file `path`), each in row-major order.
pub(super) fn read_frames(
    path: &Path,
    headers: &[&SliceHeader],
) -> Result<Vec<Vec<f32>>, DicomError> {
    let obj = dicom_object::open_file(path).map_err(|e| DicomError::parse(path, e))?;
    if obj.get(tags::PIXEL_DATA).is_none() {
        return Err(DicomError::MissingPixelData {
            path: path.to_path_buf(),
        });
    }
    let samples = opt_f64(&obj, tags::SAMPLES_PER_PIXEL, "Samples per Pixel", path)?;
    if samples.is_some_and(|s| s != 1.0) {
        return Err(DicomError::invalid(
            path,
            "not a grey-scale image (Samples per Pixel is not 1)",
        ));
    }
    let first = headers[0];
    check_pixel_data_length(&obj, first)?;
    let decoded = decode_pixels(&obj, first.rows, first.cols, first.frames_in_file, path)?;
    let pixel_err = |e: dicom_pixeldata::Error| DicomError::PixelData {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    headers
        .iter()
        .map(|h| {
            let frame = h.frame.unwrap_or(0);
            let raw: Vec<f64> = decoded
                .to_vec_frame_with_options(
                    frame as u32,
                    &ConvertOptions::new().with_modality_lut(ModalityLutOption::None),
                )
                .map_err(pixel_err)?;
            if raw.len() != h.rows * h.cols {
                return Err(DicomError::PixelData {
                    path: path.to_path_buf(),
                    reason: format!(
                        "{}expected {} samples, decoded {}",
                        h.frame_prefix(),
                        h.rows * h.cols,
                        raw.len()
                    ),
                });
            }
            let source = FrameSource {
                obj: &obj,
                frame: h.frame,
            };
            modality_values(
                raw,
                source.group(tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE),
                path,
            )
            .map_err(|e| in_frame(e, h.frame))
        })
        .collect()
}

/// The pixel data of `obj` (read from `path`) decoded, after the checks that keep a codec from
/// acting on a corrupt or hostile stream: the encoding must be one this build decodes
/// ([`decodable`]), each compressed fragment's own header must describe `rows` x `cols` grey
/// pixels (`check_encapsulated`), a codec's panic becomes this file's error, and the result must
/// have `rows` x `cols` x `frames`.
pub(crate) fn decode_pixels<'a>(
    obj: &'a dicom_object::DefaultDicomObject,
    rows: usize,
    cols: usize,
    frames: usize,
    path: &Path,
) -> Result<dicom_pixeldata::DecodedPixelData<'a>, DicomError> {
    decodable(obj, path)?;
    if let Some(fragments) = obj
        .get(tags::PIXEL_DATA)
        .and_then(|e| e.value().fragments())
    {
        check_encapsulated(obj.meta().transfer_syntax(), fragments, rows, cols, path)?;
    }
    // The codecs of dicom-transfer-syntax-registry 0.10 can panic on corrupt compressed
    // fragments (fuzzing found an out-of-bounds index in the RLE decoder): such a file is a
    // corrupt input like any other, so the panic becomes this file's error.
    // `catch_panic` keeps the panic hook quiet, so the user sees only the error line.
    let decoded = mtsa_io::catch_panic(|| obj.decode_pixel_data())
        .map_err(|_| DicomError::PixelData {
            path: path.to_path_buf(),
            reason: "corrupt compressed pixel data (the decoder failed)".into(),
        })?
        .map_err(|e| DicomError::PixelData {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    if decoded.rows() as usize != rows
        || decoded.columns() as usize != cols
        || decoded.number_of_frames() as usize != frames
    {
        return Err(DicomError::PixelData {
            path: path.to_path_buf(),
            reason: "decoded size differs from Rows/Columns/Number of Frames".into(),
        });
    }
    Ok(decoded)
}

/// Refuses, naming it, a pixel encoding this build cannot decode (JPEG XL, MPEG/HEVC video, an
/// unknown private syntax; JPEG-LS without the `jpeg-ls` feature), with what to do about it;
/// uncompressed, RLE, JPEG (baseline, extended, lossless), JPEG 2000 and HTJ2K are decoded, and
/// JPEG-LS by CharLS in a build with the feature.
fn decodable(obj: &dicom_object::DefaultDicomObject, path: &Path) -> Result<(), DicomError> {
    let uid = obj.meta().transfer_syntax();
    let syntax = TransferSyntaxRegistry.get(uid);
    if syntax.is_some_and(|ts| ts.can_decode_all()) {
        return Ok(());
    }
    let name = syntax.map_or("an unknown transfer syntax", |ts| ts.name());
    // JPEG-LS Lossless and Near-Lossless: decoded by a build with the `jpeg-ls` feature.
    let jpeg_ls = ["1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"]
        .contains(&uid.trim_end_matches(['\0', ' ']));
    let or_rebuild = if jpeg_ls {
        ", or use an mtsa built with `cargo build --release -p mtsa-cli --features jpeg-ls` \
         (needs cmake)"
    } else {
        ""
    };
    Err(DicomError::PixelData {
        path: path.to_path_buf(),
        reason: format!(
            "its pixels are encoded as {name} ({uid}), which this mtsa does not decode; \
             decompress the series first, e.g. with GDCM's `gdcmconv --raw`{or_rebuild}"
        ),
    })
}

/// Stored values to the modality's: slope x value + intercept, from `holder` (the image, or a
/// frame's Pixel Value Transformation).
fn modality_values(raw: Vec<f64>, holder: &Obj, path: &Path) -> Result<Vec<f32>, DicomError> {
    // A zero slope is a broken header, not a request to blank the image; dcm2niix also uses 1.
    let slope = opt_f64(holder, tags::RESCALE_SLOPE, "Rescale Slope", path)?
        .filter(|s| *s != 0.0)
        .unwrap_or(1.0);
    let intercept =
        opt_f64(holder, tags::RESCALE_INTERCEPT, "Rescale Intercept", path)?.unwrap_or(0.0);
    raw.into_iter()
        .map(|v| {
            let out = (v * slope + intercept) as f32;
            if out.is_finite() {
                Ok(out)
            } else {
                Err(DicomError::attribute(
                    path,
                    "Rescale Slope/Intercept",
                    format!(
                        "{slope} x {v} + {intercept} is not a finite 32-bit value; the header \
                         rescale is corrupt"
                    ),
                ))
            }
        })
        .collect()
}

/// Native (uncompressed) Pixel Data must hold exactly Rows x Columns x Bits Allocated / 8 bytes
/// per frame (plus one pad byte to an even length): anything else is decoded as garbage, not
/// refused, by the decoder. Encapsulated (compressed) data is checked by its decoded size
/// instead.
fn check_pixel_data_length(obj: &Obj, h: &SliceHeader) -> Result<(), DicomError> {
    let Some(value) = obj
        .get(tags::PIXEL_DATA)
        .and_then(|e| e.value().primitive())
    else {
        return Ok(());
    };
    let expected = h.rows * h.cols * h.bits_allocated / 8 * h.frames_in_file;
    let found = value.calculate_byte_len();
    if found == expected || found == expected + expected % 2 {
        return Ok(());
    }
    Err(DicomError::PixelData {
        path: h.path.clone(),
        reason: format!(
            "Pixel Data holds {found} bytes but Rows x Columns x Bits Allocated / 8 x frames = \
             {} x {} x {} / 8 x {} = {expected}",
            h.rows, h.cols, h.bits_allocated, h.frames_in_file
        ),
    })
}
