//! Scanned QR payloads: decoding and verification refuse anything not signed by the key, and
//! never panic. Half the inputs are base45 of random bytes, so the parser behind the text
//! decoder is reached too.
#![no_main]
use booth::card::keys::{DeviceKey, KeyRing, TrustedKey};
use booth::card::payload;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = DeviceKey::from_secret(&[7; 32]);
    let mut ring = KeyRing::default();
    ring.insert(TrustedKey { key_id: key.key_id().into(), key: key.public(), issuer: "u".into() });
    let text = String::from_utf8_lossy(data);
    let _ = payload::decode(&text);
    let _ = payload::verify(&text, &ring);
    let b45 = base45_like(data);
    assert!(payload::verify(&b45, &ring).is_err(), "random bytes verified");
});

fn base45_like(data: &[u8]) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
    let body: String = data.iter().map(|b| A[*b as usize % 45] as char).collect();
    format!("{}{body}", payload::PREFIX)
}
