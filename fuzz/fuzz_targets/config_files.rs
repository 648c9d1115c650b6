//! The clear-text files booth reads before or beside the store: keyfile.toml and a union's
//! trusted-key list. Errors, never panics (and no absurd KDF cost accepted).
#![no_main]
use booth::card::KeyRing;
use booth::store::KeyFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(kf) = KeyFile::parse(&text) {
        assert!(kf.params.memory_kib <= 1024 * 1024 && kf.params.iterations <= 16);
    }
    let _ = KeyRing::parse(&text);
    let _ = booth::config::PrinterUri::parse(&text);
});
