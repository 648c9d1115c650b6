//! CSV rosters in any encoding: an error or a roster, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = booth::roster::from_csv_bytes(data);
});
