//! dicom-parser (through dicom-object) allocates and zero-fills an element's declared length,
//! up to 4 GiB, before reading its value: a 634-byte file declaring a 4 GB OB value cost
//! gigabytes of memory and seconds per file (found by `fuzz/` target `dicom_series`). Each file
//! is therefore walked first with the same decoders, token by token, and refused when a meta
//! element, data element, sequence or item declares more bytes than the whole file holds; the
//! walk stops at the first header it cannot decode, which dicom-object then reports itself.

use crate::DicomError;
use dicom_core::header::{HasLength, Header};
use dicom_core::Tag;
use dicom_encoding::decode::Decode;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::meta::FileMetaTable;
use dicom_parser::dataset::read::DataSetReader;
use dicom_parser::dataset::DataToken;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use std::path::Path;

const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1.99";

/// Refuses `path` when any length declared in it exceeds the file's size, or when its data set
/// is deflated.
pub(crate) fn check_declared_lengths(path: &Path) -> Result<(), DicomError> {
    let bytes = std::fs::read(path).map_err(|e| DicomError::file(path, e))?;
    let size = bytes.len() as u64;
    let refuse = |tag: Tag, len: u32| {
        DicomError::parse(
            path,
            format!(
                "element ({:04X},{:04X}) declares {len} bytes but the file holds {size}",
                tag.0, tag.1
            ),
        )
    };
    // dicom-object's preamble detection: "DICM" at 128, else at 0.
    let magic = if bytes.get(128..132) == Some(b"DICM") {
        128
    } else if bytes.starts_with(b"DICM") {
        0
    } else {
        return Ok(());
    };

    // The meta group as FileMetaTable reads it: (0002,0000), then elements until its length.
    let decoder = dicom_encoding::decode::file_header_decoder();
    let mut src = &bytes[magic + 4..];
    let Ok((head, _)) = decoder.decode_header(&mut src) else {
        return Ok(());
    };
    if head.tag() != Tag(0x0002, 0x0000) || src.len() < 4 {
        return Ok(());
    }
    let group_length = u64::from(u32::from_le_bytes([src[0], src[1], src[2], src[3]]));
    src = &src[4..];
    let mut read = 0u64;
    while read < group_length {
        let Ok((head, header_len)) = decoder.decode_header(&mut src) else {
            return Ok(());
        };
        let Some(len) = head.length().get() else {
            return Ok(());
        };
        if u64::from(len) > size {
            return Err(refuse(head.tag(), len));
        }
        let Some(rest) = src.get(len as usize..) else {
            return Ok(()); // truncated: dicom-object fails reading it, within the file size
        };
        src = rest;
        read += header_len as u64 + u64::from(len);
    }

    // The data set, with the transfer syntax the meta group names.
    let Ok(meta) = FileMetaTable::from_reader(&bytes[magic..]) else {
        return Ok(());
    };
    let Some(ts) = TransferSyntaxRegistry.get(meta.transfer_syntax()) else {
        return Ok(());
    };
    // A deflated data set cannot be walked (its bytes are compressed, and inflating them is
    // what a bomb would exploit) and is rare in imaging; dcm2niix does not read it either.
    if ts.uid() == DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN {
        return Err(DicomError::invalid(
            path,
            "its data set is deflated (Deflated Explicit VR Little Endian), which mtsa does not \
             read; inflate it first, e.g. `dcmconv +te IN OUT` (DCMTK)",
        ));
    }
    let Ok(reader) = DataSetReader::new_with_ts(src, ts) else {
        return Ok(());
    };
    for token in reader {
        // Checked before the next call, which is the one that would allocate the value.
        let (tag, len) = match token {
            Ok(DataToken::ElementHeader(h)) => (h.tag(), h.length()),
            Ok(DataToken::SequenceStart { tag, len }) => (tag, len),
            Ok(DataToken::ItemStart { len }) => (Tag(0xFFFE, 0xE000), len),
            Ok(_) => continue,
            Err(_) => break,
        };
        if let Some(len) = len.get().filter(|l| u64::from(*l) > size) {
            return Err(refuse(tag, len));
        }
    }
    Ok(())
}

/// A file named as a structure set or Segmentation must exist and pass
/// [`check_declared_lengths`] before any reader opens it.
pub(crate) fn check_file(path: &Path) -> Result<(), DicomError> {
    if !path.is_file() {
        return Err(DicomError::invalid(path, "file not found"));
    }
    check_declared_lengths(path)
}

/// Opens the DICOM object at `path` whole, after [`check_file`].
pub(crate) fn open_checked(path: &Path) -> Result<dicom_object::DefaultDicomObject, DicomError> {
    check_file(path)?;
    dicom_object::open_file(path).map_err(|e| DicomError::parse(path, e))
}

/// Refuses an object whose SOP Class is not `class` (`what` names it in the error).
pub(crate) fn require_class(
    obj: &crate::dataset::Obj,
    class: &str,
    what: &str,
    path: &Path,
) -> Result<(), DicomError> {
    let found = crate::dataset::req_str(
        obj,
        dicom_dictionary_std::tags::SOP_CLASS_UID,
        "SOP Class UID",
        path,
    )?;
    if found != class {
        return Err(DicomError::invalid(
            path,
            format!("not {what} (SOP Class UID {found})"),
        ));
    }
    Ok(())
}

/// [`open_checked`], then [`require_class`]: for the structure sets and Segmentations read as
/// GTVs.
pub(crate) fn open_object_of_class(
    path: &Path,
    class: &str,
    what: &str,
) -> Result<dicom_object::DefaultDicomObject, DicomError> {
    let obj = open_checked(path)?;
    require_class(&obj, class, what, path)?;
    Ok(obj)
}
