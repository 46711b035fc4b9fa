//! mtsa-dicom
