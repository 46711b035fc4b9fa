//! Checkpoint loader: the bytes as a `.safetensors` file, read by `read_config` (header only,
//! then validated as building the network does) and `read_tensors` (whole file, checksum, and
//! the tensors through libtorch).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtsa_fuzz::{assert_names, put};
use mtsa_model::{read_config, read_tensors};

fuzz_target!(|data: &[u8]| {
    let path = put("model.safetensors", data);
    match read_config(&path) {
        Ok(cfg) => {
            let _ = cfg.validate();
        }
        Err(e) => assert_names(&e, &path),
    }
    if let Err(e) = read_tensors(&path) {
        assert_names(&e, &path);
    }
});
