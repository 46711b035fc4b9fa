//! clinical.csv reader: errors must name the file (and the line where there is one).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtsa_data::read_clinical;
use mtsa_fuzz::{assert_names, put};

fuzz_target!(|data: &[u8]| {
    let path = put("clinical.csv", data);
    match read_clinical(&path) {
        Ok(table) => {
            let mut ids: Vec<&str> = table
                .records
                .iter()
                .map(|r| r.patient_id.as_str())
                .collect();
            let n = ids.len();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), n, "duplicate patient ids accepted");
        }
        Err(e) => assert_names(&e, &path),
    }
});
