//! With `--features cuda`, force libtorch_cuda into the binary's NEEDED list: nothing in tch
//! references its symbols directly, so the default `--as-needed` link would drop it and
//! `--device cuda` would find no CUDA backend at run time.
fn main() {
    println!("cargo:rerun-if-env-changed=CARGO_FEATURE_CUDA");
    if std::env::var_os("CARGO_FEATURE_CUDA").is_some() {
        println!("cargo:rustc-link-arg-bins=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}
