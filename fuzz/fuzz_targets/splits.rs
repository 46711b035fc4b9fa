//! splits.json reader (`prepare --splits`), checked against a fixed five-patient cohort.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtsa_data::assign_from_file;
use mtsa_fuzz::fixtures::SPLIT_PATIENTS;
use mtsa_fuzz::{assert_names, put};

fuzz_target!(|data: &[u8]| {
    let ids: Vec<String> = SPLIT_PATIENTS.iter().map(|s| s.to_string()).collect();
    let path = put("splits.json", data);
    match assign_from_file(&path, &ids) {
        // Every patient exactly once.
        Ok(map) => assert_eq!(map.len(), ids.len()),
        Err(e) => assert_names(&e, &path),
    }
});
