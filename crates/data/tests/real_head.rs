//! A real head scan: Colin27 with its scalp (`ch2.nii.gz`, 181 x 217 x 181 voxels of 1 mm, air
//! stored as exact zeros) and skull-stripped (`ch2bet.nii.gz`), from Debian's `mricron-data`
//! package (BSD-3-clause), read in place from `/usr/share/mricron/templates` and never copied.
//! Skipped with a note when the package is absent (`.ci/run` installs it).

use mtsa_data::{not_skull_stripped, scan_as_read};
use mtsa_io::{read_nifti, write_nifti};
use std::path::Path;

/// The head scan holds 42% zeros, which alone would pass it as skull-stripped; its 4.15 L
/// nonzero region, more than any brain, does not. With the stripped scan's brain as its mask it
/// is read as exactly the stripped scan, which looks skull-stripped, as the stripped file does.
#[test]
fn a_real_head_scan_is_told_from_a_brain_and_masked_to_it() {
    let dir = Path::new("/usr/share/mricron/templates");
    let (head, bet) = (dir.join("ch2.nii.gz"), dir.join("ch2bet.nii.gz"));
    if !head.is_file() || !bet.is_file() {
        eprintln!(
            "skipped: {} not found (apt-get install mricron-data)",
            head.display()
        );
        return;
    }
    let stripped = read_nifti(&bet).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mask = tmp.path().join("ch2_brain.nii.gz");
    write_nifti(&mask, &stripped.map(|&v| u8::from(v != 0.0))).unwrap();

    let (as_read, _) = scan_as_read(read_nifti(&head).unwrap(), &head, None).unwrap();
    let zeros = as_read.data.iter().filter(|&&v| v == 0.0).count();
    assert!(zeros as f64 > 0.4 * as_read.data.len() as f64);
    let why = not_skull_stripped(&as_read).expect("a head is not a brain");
    assert!(why.contains("4.2 L"), "{why}");

    let (masked, brain) = scan_as_read(read_nifti(&head).unwrap(), &head, Some(&mask)).unwrap();
    assert!(brain.is_some());
    assert_eq!(masked.data, stripped.data);
    assert_eq!(not_skull_stripped(&masked), None);
    let (bet_read, _) = scan_as_read(stripped, &bet, None).unwrap();
    assert_eq!(not_skull_stripped(&bet_read), None);
}
