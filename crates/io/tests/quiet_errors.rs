//! Errors shown to the user: caught third-party panics become values, and temporary names in a
//! message become the names the user asked for.

use mtsa_io::{catch_panic, public_names};

#[test]
fn a_caught_panic_becomes_its_message_and_others_still_unwind() {
    assert_eq!(catch_panic(|| 7), Ok(7));
    let msg = catch_panic(|| -> u8 { panic!("index 9 out of range") }).unwrap_err();
    assert_eq!(msg, "index 9 out of range");
    let nested = catch_panic(|| catch_panic(|| -> u8 { panic!("{}", 3) }));
    assert_eq!(nested, Ok(Err("3".to_owned())));
    // Outside `catch_panic` a panic is still a panic.
    assert!(std::panic::catch_unwind(|| -> u8 { panic!("loud") }).is_err());
}

#[test]
fn temporary_names_of_this_process_are_replaced_by_the_output_names() {
    let pid = std::process::id();
    let msg = format!("/data/.tmp-{pid}-pred/gtv.nii.gz: No space left on device");
    assert_eq!(
        public_names(&msg),
        "/data/pred/gtv.nii.gz: No space left on device"
    );
    let old = format!("/data/.old-{pid}-pred: busy");
    assert_eq!(public_names(&old), "/data/pred: busy");
    // Another process's temporaries (and ordinary names) are left as they are.
    let other = format!("/data/.tmp-{}-pred", pid + 1);
    assert_eq!(public_names(&other), other);
}
